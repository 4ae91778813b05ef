"""Custom roles: an organization's own named sets of permissions."""

from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from rest_framework.exceptions import NotFound

from apps.audit import events
from apps.audit.recording import one_entry
from apps.core.exceptions import ConflictError
from apps.organizations.services import lock_organization

from . import catalog
from .models import Role
from .policy import MemberAccess, role_permissions
from .roles import catalog_permissions


class BuiltinRoleError(ConflictError):
    code = "builtin_role"
    default_message = "Built-in roles cannot be changed or deleted; define a custom role instead."


class RoleInUseError(ConflictError):
    code = "role_in_use"
    default_message = "Members hold this role; give them another role before deleting it."


def _locked_role(role: Role) -> Role:
    """The role as it is now, under its organization's lock; 404 if it was deleted meanwhile."""
    lock_organization(role.organization_id)
    current = Role.objects.select_related("group").filter(pk=role.pk).first()
    if current is None:
        raise NotFound()
    return current


def _clean_permissions(permissions: list[str], *, access: MemberAccess) -> list[str]:
    unknown = sorted(set(permissions) - catalog.ALL_PERMISSIONS)
    if unknown:
        raise ValidationError(
            {"permissions": [f"Unknown permissions: {', '.join(unknown)}. Use resource:action."]}
        )
    beyond = sorted(catalog.expand(permissions) - access.permissions)
    if beyond:
        raise PermissionDenied(
            f"A role cannot hold more than you do; you do not hold: {', '.join(beyond)}."
        )
    return sorted(set(permissions))


def _set_group_permissions(role: Role, permissions: list[str]) -> tuple[list[str], list[str]]:
    """Give the role's group exactly `permissions`; return (added, removed)."""
    rows = catalog_permissions()
    before = set(role.permission_names)
    role.group.permissions.set([rows[name] for name in permissions])
    return sorted(set(permissions) - before), sorted(before - set(permissions))


@transaction.atomic
def role_create(
    *,
    access: MemberAccess,
    key: str,
    name: str,
    permissions: list[str],
    description: str = "",
) -> Role:
    """Define a custom role of the caller's organization, holding no more than the caller."""
    organization = access.organization
    lock_organization(organization.pk)
    if key in catalog.BUILTIN_ROLE_PERMISSIONS:
        raise ValidationError({"key": [f"'{key}' is the key of a built-in role."]})
    if Role.objects.filter(organization=organization, key=key).exists():
        raise ValidationError({"key": ["This organization already has a role with this key."]})
    permissions = _clean_permissions(permissions, access=access)
    group = Group.objects.create(name=f"org:{organization.pk}:{key}")
    role = Role(
        organization=organization,
        key=key,
        name=name,
        description=description,
        group=group,
        created_by=access.user,
    )
    role.full_clean(exclude=["group"], validate_unique=False, validate_constraints=False)
    with one_entry(role, data={"permissions": permissions}):
        role.save()
        _set_group_permissions(role, permissions)
    return role


@transaction.atomic
def role_update(
    *,
    role: Role,
    access: MemberAccess,
    name: str | None = None,
    description: str | None = None,
    permissions: list[str] | None = None,
) -> Role:
    """Rename a custom role or change its permissions; effective on members' next request."""
    if role.is_builtin:
        raise BuiltinRoleError()
    role = _locked_role(role)
    if role_permissions(role) - access.permissions:
        raise PermissionDenied("You cannot change a role that holds more than you do.")
    if name is not None:
        role.name = name
    if description is not None:
        role.description = description
    role.full_clean(exclude=["group"], validate_unique=False, validate_constraints=False)
    with one_entry(role) as entry:
        role.save()
        if permissions is not None:
            permissions = _clean_permissions(permissions, access=access)
            added, removed = _set_group_permissions(role, permissions)
            if added or removed:
                entry.event = events.ROLE_PERMISSIONS_CHANGED
                entry.data = {"added": added, "removed": removed, "permissions": permissions}
    return role


@transaction.atomic
def role_delete(*, role: Role, access: MemberAccess) -> None:
    """Delete a custom role no member holds."""
    if role.is_builtin:
        raise BuiltinRoleError()
    role = _locked_role(role)
    if role_permissions(role) - access.permissions:
        raise PermissionDenied("You cannot delete a role that holds more than you do.")
    if role.memberships.exists():
        raise RoleInUseError()
    group = role.group
    role.delete()
    group.delete()
