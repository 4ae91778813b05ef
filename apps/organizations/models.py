from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models

from apps.access import catalog
from apps.audit.querysets import AuditedQuerySet
from apps.core.models import TimeStampedModel, UUIDPrimaryKeyModel


class BuiltinRole(models.TextChoices):
    """The keys of the built-in roles, as written in the API."""

    OWNER = catalog.OWNER, "Owner"
    ADMIN = catalog.ADMIN, "Admin"
    EDITOR = catalog.EDITOR, "Editor"
    VIEWER = catalog.VIEWER, "Viewer"


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    "Use 1 to 50 lower-case letters, digits and hyphens, not starting or ending with a hyphen.",
)


class Organization(UUIDPrimaryKeyModel, TimeStampedModel):
    """A customer of the platform: it owns every agent, conversation and job."""

    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=50, unique=True, validators=[slug_validator])
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="organizations"
    )

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "slug"]
        permissions = catalog.model_permissions("organization")

    def __str__(self):
        return self.slug


class Membership(UUIDPrimaryKeyModel, TimeStampedModel):
    """A user's place in an organization: exactly one role there.

    The role is a built-in one (owner, admin, editor, viewer) or one of the
    organization's custom roles; its Django group holds the permissions.
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.ForeignKey("access.Role", on_delete=models.PROTECT, related_name="memberships")

    objects = AuditedQuerySet.as_manager()

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organizations_membership_unique_user"
            ),
        ]
        permissions = catalog.model_permissions("members")

    def __str__(self):
        return f"{self.user} in {self.organization} as {self.role.key}"

    @property
    def is_owner(self) -> bool:
        return self.role.is_owner


class OrganizationOwnedModel(UUIDPrimaryKeyModel, TimeStampedModel):
    """Base of every object an organization owns: agents, conversations, jobs, ...

    `organization` is what every query of the API is narrowed by; `created_by`
    survives the creator's account being deleted (set to null).
    """

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_set"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )

    objects = AuditedQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at"]
