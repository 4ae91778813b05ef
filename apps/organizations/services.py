"""Business actions on organizations and their memberships.

Views check that the caller holds the permission an action needs; these
functions keep the rules a permission alone cannot say: nobody hands out a role
above their own, only Owners touch Owners, and an organization always keeps at
least one Owner.
"""

import logging

from django.apps import apps
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction
from django.utils.text import slugify
from rest_framework.exceptions import NotFound

from apps.access.models import Role
from apps.access.policy import role_permissions
from apps.access.roles import builtin_role, check_role_available
from apps.accounts.models import User, normalize_email_address
from apps.audit.chain import lock_chain
from apps.core.exceptions import ConflictError

from .models import BuiltinRole, Membership, Organization, OrganizationOwnedModel

logger = logging.getLogger(__name__)

RESERVED_SLUGS = frozenset({"new", "me", "admin", "api", "static", "media"})


class LastOwnerError(ConflictError):
    code = "last_owner"
    default_message = "An organization must keep at least one Owner."


def _validate_slug(slug: str, *, exclude: Organization | None = None) -> str:
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": [f"'{slug}' is reserved."]})
    taken = Organization.objects.filter(slug=slug)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    if taken.exists():
        raise ValidationError({"slug": ["An organization with this slug already exists."]})
    return slug


def _unique_slug_from(name: str) -> str:
    # slugify keeps underscores, which slugs here do not allow.
    base = slugify(name).replace("_", "-")[:40].strip("-") or "org"
    if base in RESERVED_SLUGS:
        base = f"{base}-org"
    candidate, suffix = base, 2
    while Organization.objects.filter(slug=candidate).exists():
        candidate = f"{base}-{suffix}"
        suffix += 1
    return candidate


def _full_clean(instance, *, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


@transaction.atomic
def organization_create(*, name: str, created_by: User, slug: str | None = None) -> Organization:
    """Create an organization; its creator becomes its first Owner."""
    derived = not slug
    for _attempt in range(5):
        candidate = _unique_slug_from(name) if derived else _validate_slug(slug)
        organization = Organization(name=name, slug=candidate)
        _full_clean(organization)
        try:
            with transaction.atomic():  # a savepoint: a concurrent request may take the slug
                organization.save()
        except IntegrityError:
            if not derived:
                raise ValidationError(
                    {"slug": ["An organization with this slug already exists."]}
                ) from None
            continue
        break
    else:
        raise ConflictError("Could not find a free slug for this name; give one explicitly.")
    Membership.objects.create(
        organization=organization, user=created_by, role=builtin_role(BuiltinRole.OWNER)
    )
    return organization


@transaction.atomic
def organization_update(
    *, organization: Organization, name: str | None = None, slug: str | None = None
) -> Organization:
    """Rename an organization or change its slug."""
    if name is not None:
        organization.name = name
    if slug is not None and slug != organization.slug:
        organization.slug = _validate_slug(slug, exclude=organization)
    _full_clean(organization)
    try:
        with transaction.atomic():
            organization.save()
    except IntegrityError:
        raise ValidationError(
            {"slug": ["An organization with this slug already exists."]}
        ) from None
    return organization


def _stored_files_of(organization: Organization) -> list[tuple[object, str]]:
    """(storage, name) of every file that objects of this organization keep in storage."""
    files = []
    for model in apps.get_models():
        if not issubclass(model, OrganizationOwnedModel):
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.FileField):
                names = (
                    model.objects.filter(organization=organization)
                    .exclude(**{field.name: ""})
                    .values_list(field.name, flat=True)
                )
                files.extend((field.storage, name) for name in names)
    return files


@transaction.atomic
def organization_delete(*, organization: Organization) -> None:
    """Delete an organization and everything it owns, stored files included.

    Files are removed only once the deletion has committed, so a rollback
    never leaves rows pointing at missing files.
    """
    files = _stored_files_of(organization)
    organization.delete()

    def remove_files():
        for storage, name in files:
            try:
                storage.delete(name)
            except OSError:
                logger.warning("Could not delete stored file %s", name, exc_info=True)

    transaction.on_commit(remove_files)


def _acting_permissions(acting: Membership, scope: frozenset[str] | None) -> frozenset[str]:
    """What the actor holds here; with an API key, only within the key's scopes."""
    held = role_permissions(acting.role)
    return held if scope is None else held & scope


def _check_may_assign(*, held: frozenset[str], role: Role) -> None:
    """Nobody gives a role holding a permission they do not hold themselves."""
    beyond = role_permissions(role) - held
    if beyond:
        raise PermissionDenied(
            f"You cannot give the role '{role.key}': it holds permissions you do not "
            f"({', '.join(sorted(beyond))})."
        )


def _check_may_act_on(*, acting: Membership, held: frozenset[str], target: Membership) -> None:
    """Only an Owner changes or removes an Owner; nobody acts on a role above their own."""
    if target.is_owner and not acting.is_owner:
        raise PermissionDenied("Only an Owner can change or remove an Owner.")
    if role_permissions(target.role) - held:
        raise PermissionDenied("You cannot change a member whose role holds more than yours.")


def is_last_owner(membership: Membership) -> bool:
    """Whether this membership is its organization's only Owner."""
    owners = Membership.objects.filter(
        organization_id=membership.organization_id,
        role__key=BuiltinRole.OWNER,
        role__organization__isnull=True,
    )
    return list(owners.values_list("pk", flat=True)[:2]) == [membership.pk]


def _check_keeps_an_owner(*, target: Membership) -> None:
    """Refuse to take away the last Owner; locks the Owners so two requests cannot race."""
    owners = list(
        Membership.objects.select_for_update()
        .filter(
            organization_id=target.organization_id,
            role__key=BuiltinRole.OWNER,
            role__organization__isnull=True,
        )
        .values_list("pk", flat=True)
    )
    if target.pk in owners and len(owners) == 1:
        raise LastOwnerError()


def lock_organization(organization_id) -> None:
    """Serialise changes to an organization's members, roles and grants.

    Every such change takes this row lock first and then re-reads what it
    decides on, so two requests can never both pass a check the other one
    invalidates (the last Owner leaving while being replaced, an Admin removing
    someone who was just made Owner, a grant racing its grantee's removal).
    """
    # The lock is the head of the organization's audit chain, which every audited write
    # of the organization takes too: one lock, not two that could be taken in either order.
    lock_chain(organization_id)


def _fresh(membership: Membership) -> Membership:
    """The membership as it is now (after the organization lock), or 404 if it is gone."""
    current = (
        Membership.objects.select_related("role", "organization", "user")
        .filter(pk=membership.pk)
        .first()
    )
    if current is None:
        raise NotFound()
    return current


def _fresh_role(role: Role) -> Role:
    current = Role.objects.filter(pk=role.pk).first()
    if current is None:
        raise ValidationError({"role": ["This role no longer exists."]})
    return current


@transaction.atomic
def membership_add(
    *,
    organization: Organization,
    email: str,
    role: Role,
    acting: Membership,
    acting_scope: frozenset[str] | None = None,
) -> Membership:
    """Add an existing user to an organization with a role no wider than the actor's."""
    lock_organization(organization.pk)
    acting, role = _fresh(acting), _fresh_role(role)
    check_role_available(role, organization_id=organization.pk)
    _check_may_assign(held=_acting_permissions(acting, acting_scope), role=role)
    user = User.objects.filter(email=normalize_email_address(email), is_active=True).first()
    if user is None:
        raise ValidationError({"email": ["No active user has this email address."]})
    if Membership.objects.filter(organization=organization, user=user).exists():
        raise ValidationError({"email": ["This user is already a member."]})
    return Membership.objects.create(organization=organization, user=user, role=role)


@transaction.atomic
def membership_change_role(
    *,
    membership: Membership,
    role: Role,
    acting: Membership,
    acting_scope: frozenset[str] | None = None,
) -> Membership:
    """Give a member another role; Owners are changed only by Owners."""
    lock_organization(membership.organization_id)
    membership, acting, role = _fresh(membership), _fresh(acting), _fresh_role(role)
    check_role_available(role, organization_id=membership.organization_id)
    if role.pk == membership.role_id:
        return membership
    held = _acting_permissions(acting, acting_scope)
    _check_may_act_on(acting=acting, held=held, target=membership)
    _check_may_assign(held=held, role=role)
    if membership.is_owner:
        _check_keeps_an_owner(target=membership)
    # Recorded as member.role_changed by the audit log, as a change made in the admin is.
    membership.role = role
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def membership_remove(
    *, membership: Membership, acting: Membership, acting_scope: frozenset[str] | None = None
) -> None:
    """Remove a member (or let one leave), with every object grant they held there.

    The last Owner can do neither. (Grants are revoked by a receiver of the
    membership's deletion, so removals through the admin revoke them too.)
    """
    lock_organization(membership.organization_id)
    membership, acting = _fresh(membership), _fresh(acting)
    if membership.pk != acting.pk:
        held = _acting_permissions(acting, acting_scope)
        _check_may_act_on(acting=acting, held=held, target=membership)
    if membership.is_owner:
        _check_keeps_an_owner(target=membership)
    membership.delete()
