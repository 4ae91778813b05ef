"""Grants: chosen actions on one shareable object, for one member or one role.

They are django-guardian rows in each shareable model's direct foreign-key
tables (`AgentUserGrant`, `AgentRoleGrant`, ...), so checks stay indexed and
grants disappear with their object.
"""

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model

from . import catalog, policy
from .policy import MemberAccess
from .roles import check_role_available

GRANTABLE_ACTIONS = ("create", "read", "update", "delete", "manage")


def grant_models(model: type[Model]):
    """(user grant model, role grant model) of a shareable model."""
    models = policy.grant_models_of(model)
    if models is None:
        raise ValueError(f"{model.__name__} objects cannot be shared")
    return models


def shareable_models() -> list[type[Model]]:
    from django.apps import apps

    models = []
    for resource in catalog.GRANTABLE_RESOURCES:
        models.append(apps.get_model(catalog.RESOURCE_MODELS[resource]))
    return models


def resource_of_model(model: type[Model]) -> str:
    resource = catalog.resource_of_model(model)
    if resource is None:
        raise ValueError(f"{model._meta.label} is not a catalog resource")
    return resource


def grant_list(*, obj: Model) -> list[Model]:
    """Every grant on `obj`, to members and to roles, oldest first."""
    user_grant, role_grant = grant_models(type(obj))
    to_users = user_grant.objects.filter(content_object=obj).select_related(
        "user", "permission", "granted_by"
    )
    to_roles = role_grant.objects.filter(content_object=obj).select_related(
        "group__role", "permission", "granted_by"
    )
    return sorted([*to_users, *to_roles], key=lambda grant: grant.created_at)


def grant_get(*, obj: Model, grant_id) -> Model | None:
    user_grant, role_grant = grant_models(type(obj))
    for model in (user_grant, role_grant):
        grant = model.objects.filter(content_object=obj, pk=grant_id).first()
        if grant is not None:
            return grant
    return None


@transaction.atomic
def grants_create(
    *, obj: Model, actions: list[str], access: MemberAccess, user=None, role=None
) -> list[Model]:
    """Grant `actions` on `obj` to one member (`user`) or one role of the organization.

    The granter must hold `manage` on the object and every action they grant;
    the grantee must be a member (or a role members can hold here). Granting
    an action already granted is not an error: the existing grant is returned.
    """
    from apps.organizations.models import Membership

    if (user is None) == (role is None):
        raise ValidationError({"non_field_errors": ["Give either a user or a role."]})
    resource = resource_of_model(type(obj))
    if not access.has_on(obj, catalog.permission_name(resource, catalog.MANAGE)):
        raise PermissionDenied("Sharing this object needs the manage permission on it.")
    unknown = sorted(set(actions) - set(GRANTABLE_ACTIONS))
    if unknown or not actions:
        raise ValidationError(
            {"actions": [f"Choose one or more of: {', '.join(GRANTABLE_ACTIONS)}."]}
        )
    names = [catalog.permission_name(resource, action) for action in dict.fromkeys(actions)]
    beyond = [name for name in names if not access.has_on(obj, name)]
    if beyond:
        raise PermissionDenied(f"You cannot grant what you do not hold: {', '.join(beyond)}.")

    organization = obj.organization
    if (
        user is not None
        and not Membership.objects.filter(organization=organization, user=user).exists()
    ):
        raise ValidationError({"user": ["This user is not a member of this organization."]})
    if role is not None:
        check_role_available(role, organization_id=organization.pk)

    user_grant, role_grant = grant_models(type(obj))
    app_label = obj._meta.app_label
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(content_type__app_label=app_label, codename__in=names)
    }
    grants = []
    for name in names:
        if user is not None:
            lookup = {"user": user, "permission": permissions[name], "content_object": obj}
            model = user_grant
        else:
            lookup = {"group": role.group, "permission": permissions[name], "content_object": obj}
            model = role_grant
        try:
            with transaction.atomic():
                grant, _ = model.objects.get_or_create(
                    **lookup, defaults={"granted_by": access.user}
                )
        except IntegrityError:  # granted by a concurrent request in between
            grant = model.objects.get(**lookup)
        grants.append(grant)
    return grants


@transaction.atomic
def grant_revoke(*, grant: Model, access: MemberAccess) -> None:
    """Revoke one grant; needs `manage` on its object."""
    obj = grant.content_object
    resource = resource_of_model(type(obj))
    if not access.has_on(obj, catalog.permission_name(resource, catalog.MANAGE)):
        raise PermissionDenied("Sharing this object needs the manage permission on it.")
    grant.delete()


def grants_revoke_for_member(*, user_id, organization_id) -> int:
    """Remove every grant a user holds on objects of an organization (they are leaving it)."""
    removed = 0
    for model in shareable_models():
        user_grant, _role_grant = grant_models(model)
        removed += user_grant.objects.filter(
            user_id=user_id, content_object__organization_id=organization_id
        ).delete()[0]
    return removed
