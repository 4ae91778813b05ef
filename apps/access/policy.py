"""Who may do what, in which organization, on which object: the one place that answers it.

A caller's access in an organization is their membership's role (a Django
group of `resource:action` permissions) plus the grants they hold on single
objects (django-guardian rows, given to them or to their role). Views reach
it through the DRF permission class in `apps.access.api.permissions` and
narrow every queryset with `visible`; nothing else decides access.
"""

from dataclasses import dataclass, field
from functools import cache

from django.contrib.auth.models import Permission
from django.db.models import Model, Q, QuerySet
from guardian.utils import get_group_obj_perms_model, get_user_obj_perms_model

from . import catalog


@dataclass
class MemberAccess:
    """A member's permissions in one organization, loaded once per request."""

    membership: object
    permissions: frozenset[str]
    # For a request made with an API key: the key's scopes (manage expanded). Nothing outside
    # them is allowed, whatever the key's creator holds.
    scope: frozenset[str] | None = None
    _object_permissions: dict = field(default_factory=dict, repr=False)

    @property
    def user(self):
        return self.membership.user

    @property
    def organization(self):
        return self.membership.organization

    @property
    def role(self):
        return self.membership.role

    def has(self, permission: str) -> bool:
        """Whether the role holds `permission` across the organization."""
        return permission in self.permissions

    def has_on(self, obj: Model, permission: str) -> bool:
        """Whether the caller may do `permission` on `obj`: by role, or by a grant on it."""
        if self.scope is not None and permission not in self.scope:
            return False
        return self.has(permission) or permission in self.granted_on(obj)

    def granted_on(self, obj: Model) -> frozenset[str]:
        """The permissions granted on `obj` to the caller or their role (manage expanded)."""
        key = (type(obj), obj.pk)
        if key not in self._object_permissions:
            self._object_permissions[key] = _granted_on(self, obj)
        return self._object_permissions[key]


def role_permissions(role) -> frozenset[str]:
    """The `resource:action` permissions a role's group holds, with `manage` expanded."""
    codenames = Permission.objects.filter(group__id=role.group_id, codename__contains=":")
    return catalog.expand(codenames.values_list("codename", flat=True))


def api_key_of(request):
    """The API key a request was authenticated with, or None."""
    auth = getattr(request, "auth", None)
    return auth if getattr(auth, "is_api_key", False) else None


def member_access(*, user, organization_slug: str, api_key=None) -> MemberAccess | None:
    """The caller's access in the organization with this slug; None for non-members.

    With an API key, the key's creator is the member, the key works only in its
    own organization, and its scopes bound what it may do: never more than the
    creator holds now, so demoting the creator narrows the key at once.
    """
    from apps.organizations.models import Membership

    if not user.is_authenticated:
        return None
    membership = (
        Membership.objects.select_related("organization", "role", "user")
        .filter(user=user, organization__slug=organization_slug)
        .first()
    )
    if membership is None:
        return None
    permissions = role_permissions(membership.role)
    if api_key is None:
        return MemberAccess(membership=membership, permissions=permissions)
    if api_key.organization_id != membership.organization_id:
        return None
    scope = catalog.expand(api_key.scopes)
    return MemberAccess(membership=membership, permissions=permissions & scope, scope=scope)


def is_grantable(model: type[Model]) -> bool:
    return grant_models_of(model) is not None


@cache
def grant_models_of(model: type[Model]):
    """(user grant model, role grant model) of a shareable model, or None.

    Cached: guardian finds them by walking the model's fields, and this is asked
    on every list and object check.
    """
    user_model = get_user_obj_perms_model(model)
    group_model = get_group_obj_perms_model(model)
    if getattr(user_model.objects, "is_generic", lambda: True)():
        return None
    return user_model, group_model


def _codenames_implying(permission: str) -> list[str]:
    resource = catalog.resource_of(permission)
    return [permission, catalog.permission_name(resource, catalog.MANAGE)]


def _granted_ids(access: MemberAccess, model: type[Model], codenames) -> Q:
    user_grant, role_grant = grant_models_of(model)
    to_user = user_grant.objects.filter(user_id=access.user.pk)
    to_role = role_grant.objects.filter(group_id=access.role.group_id)
    if codenames is not None:
        to_user = to_user.filter(permission__codename__in=codenames)
        to_role = to_role.filter(permission__codename__in=codenames)
    return Q(pk__in=to_user.values("content_object_id")) | Q(
        pk__in=to_role.values("content_object_id")
    )


def _granted_on(access: MemberAccess, obj: Model) -> frozenset[str]:
    models = grant_models_of(type(obj))
    if models is None:
        return frozenset()
    user_grant, role_grant = models
    by_user = user_grant.objects.filter(user_id=access.user.pk, content_object=obj)
    by_role = role_grant.objects.filter(group_id=access.role.group_id, content_object=obj)
    codenames = set(
        by_user.values_list("permission__codename", flat=True).union(
            by_role.values_list("permission__codename", flat=True)
        )
    )
    if codenames:
        # Any grant lets its holder read the object, as `visible` lists it for them.
        codenames.add(catalog.permission_name(catalog.resource_of(next(iter(codenames))), "read"))
    return catalog.expand(codenames)


def visible(queryset: QuerySet, access: MemberAccess, resource: str, action: str = "read"):
    """Narrow `queryset` to what the caller may see for `action`: the one queryset filter.

    The organization's objects of that resource when the role holds the
    permission; otherwise, for resources that can be shared, only the objects
    granted to the caller or their role (any grant makes an object visible for
    reading, since its holder must be able to find it); otherwise nothing.
    """
    queryset = queryset.filter(organization=access.organization)
    permission = catalog.permission_name(resource, action)
    if access.has(permission):
        return queryset
    if not is_grantable(queryset.model):
        return queryset.none()
    if access.scope is not None and permission not in access.scope:
        return queryset.none()
    codenames = None if action == "read" else _codenames_implying(permission)
    return queryset.filter(_granted_ids(access, queryset.model, codenames))
