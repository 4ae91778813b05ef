import uuid

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import RegexValidator
from django.db import models
from guardian.managers import GroupObjectPermissionManager, UserObjectPermissionManager
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from apps.audit.querysets import AuditedQuerySet
from apps.core.models import TimeStampedModel, UUIDPrimaryKeyModel

from . import catalog

role_key_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1 to 50 lower-case letters, digits and hyphens, not starting or ending with a hyphen.",
)


class PlatformResource(models.Model):
    """Carries the permissions of resources that have no model of their own yet.

    Never stored (no table is created); it exists so that `api_keys:*` and
    `audit_logs:*` are real Django permissions like the others.
    """

    class Meta:
        managed = False
        default_permissions = ()
        permissions = catalog.model_permissions("api_keys", "audit_logs")

    def __str__(self):
        return "platform resource"


class RoleQuerySet(AuditedQuerySet):
    def builtin(self):
        return self.filter(organization__isnull=True)

    def available_to(self, organization):
        """The roles members of `organization` can hold: the built-in ones and its own."""
        return self.filter(
            models.Q(organization__isnull=True) | models.Q(organization=organization)
        )


class Role(UUIDPrimaryKeyModel, TimeStampedModel):
    """A named set of permissions, held by a Django group, that a membership gives.

    Built-in roles (owner, admin, editor, viewer) have no organization and are
    seeded from `catalog.BUILTIN_ROLE_PERMISSIONS`; an organization can define
    custom roles of its own.
    """

    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="custom_roles",
    )
    key = models.CharField(
        max_length=50,
        validators=[role_key_validator],
        help_text="How the API writes the role, e.g. 'editor' or 'support-lead'.",
    )
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True, max_length=1000)
    group = models.OneToOneField(Group, on_delete=models.PROTECT, related_name="role")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = RoleQuerySet.as_manager()

    class Meta:
        ordering = ["organization_id", "key"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "key"], name="access_role_unique_key_per_org"
            ),
            models.UniqueConstraint(
                fields=["key"],
                condition=models.Q(organization__isnull=True),
                name="access_role_unique_builtin_key",
            ),
        ]

    def __str__(self):
        return self.key if self.is_builtin else f"{self.key} ({self.organization})"

    @property
    def is_builtin(self) -> bool:
        return self.organization_id is None

    @property
    def is_owner(self) -> bool:
        return self.is_builtin and self.key == catalog.OWNER

    @property
    def permission_names(self) -> list[str]:
        """The role's `resource:action` permissions (prefetch group__permissions for lists)."""
        return sorted(p.codename for p in self.group.permissions.all() if ":" in p.codename)


class UserGrantBase(UserObjectPermissionBase):
    """One action on one object, granted to one user (a direct-FK guardian row).

    Subclasses name the object: `content_object = ForeignKey(Agent, ...)`. Direct
    foreign keys keep checks indexed and vanish with their object.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = UserObjectPermissionManager.from_queryset(AuditedQuerySet)()

    class Meta(UserObjectPermissionBase.Meta):
        abstract = True


class RoleGrantBase(GroupObjectPermissionBase):
    """One action on one object, granted to every member holding a role (its group)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = GroupObjectPermissionManager.from_queryset(AuditedQuerySet)()

    class Meta(GroupObjectPermissionBase.Meta):
        abstract = True
