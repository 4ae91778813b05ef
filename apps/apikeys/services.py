"""Business actions on API keys and on an organization's key policy.

A key never holds more than its creator: its scopes are checked against the
creator's permissions when it is issued (and, for a rotation, against the
rotating member's), and apps.access.policy intersects them with the creator's
permissions again on every request. After creation a key can only be
narrowed; widening it takes a new key.
"""

import ipaddress
import logging
import math
import time
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.access import catalog
from apps.access.policy import MemberAccess
from apps.core.exceptions import ConflictError
from apps.organizations.models import Organization
from apps.organizations.services import lock_organization

from . import ip_rules
from .models import ApiKey, ApiKeyPolicy, ApiKeyStatus
from .signals import api_key_created, api_key_expiring

logger = logging.getLogger(__name__)

MANAGE_KEYS = catalog.permission_name("api_keys", catalog.MANAGE)
# last_used_at / last_used_ip are written at most once per key in this many seconds.
LAST_USED_INTERVAL = 60
# Creators are warned this many days before their key expires.
EXPIRY_WARNING_DAYS = 7
# Longest grace period a rotation may give the old key.
MAX_ROTATION_GRACE_HOURS = 7 * 24
# Highest per-key limit anyone may set (requests per RATE_LIMIT_TTL).
MAX_RATE_LIMIT = 1_000_000

NOT_WIDER = "{field} cannot be widened after creation: create a new key with what you need."


class ApiKeyRevokedError(ConflictError):
    code = "api_key_revoked"
    default_message = "This key has been revoked; create a new key instead."


class ApiKeyExpiredError(ConflictError):
    code = "api_key_expired"
    default_message = "This key has expired; create a new key instead."


class ApiKeyAlreadyRotatedError(ConflictError):
    code = "api_key_rotated"
    default_message = "This key has already been rotated; rotate its replacement instead."


def may_manage_keys(access: MemberAccess) -> bool:
    """Whether the caller acts on every key of the organization, not only their own."""
    return access.has(MANAGE_KEYS)


def is_own_key_or_manages_keys(access: MemberAccess, key: ApiKey) -> bool:
    """The rule of revoking and rotating: one's own keys, or any key with api_keys:manage."""
    return key.created_by_id == access.user.pk or may_manage_keys(access)


def _clean_scopes(scopes: list[str], *, access: MemberAccess) -> list[str]:
    unknown = sorted(set(scopes) - catalog.ALL_PERMISSIONS)
    if unknown:
        raise ValidationError(
            {"scopes": [f"Unknown permissions: {', '.join(unknown)}. Use resource:action."]}
        )
    if not scopes:
        raise ValidationError({"scopes": ["A key needs at least one scope."]})
    beyond = sorted(catalog.expand(scopes) - access.permissions)
    if beyond:
        raise PermissionDenied(
            f"A key cannot hold more than you do; you do not hold: {', '.join(beyond)}."
        )
    return sorted(set(scopes))


def _clean_allowed_ips(allowed_ips) -> list[str]:
    entries = list(allowed_ips or ())
    if len(entries) > ip_rules.MAX_ALLOWED_IPS:
        raise ValidationError(
            {"allowed_ips": [f"At most {ip_rules.MAX_ALLOWED_IPS} addresses or networks."]}
        )
    cleaned, errors = [], []
    for entry in entries:
        try:
            cleaned.append(ip_rules.normalise(entry))
        except ValueError as error:
            errors.append(str(error))
    if errors:
        raise ValidationError({"allowed_ips": errors})
    return list(dict.fromkeys(cleaned))


def _check_rate_limit(rate_limit: int | None, *, access: MemberAccess) -> None:
    if rate_limit is None:
        return
    if not 1 <= rate_limit <= MAX_RATE_LIMIT:
        raise ValidationError({"rate_limit": [f"Give a number from 1 to {MAX_RATE_LIMIT}."]})
    default = settings.RATE_LIMIT_MAX
    if rate_limit > default and not may_manage_keys(access):
        raise ValidationError(
            {
                "rate_limit": [
                    f"At most {default} (the default limit); only members who manage API keys "
                    "may give a key more."
                ]
            }
        )


def api_key_policy_of(organization: Organization) -> ApiKeyPolicy:
    """The organization's key policy; an unsaved default (no limits) if none was set."""
    policy = ApiKeyPolicy.objects.filter(organization=organization).first()
    return policy or ApiKeyPolicy(organization=organization)


def _check_expiry(expires_at, *, organization: Organization, now, field: str) -> None:
    if expires_at is not None and expires_at <= now:
        raise ValidationError({field: ["The expiry must be in the future."]})
    max_days = api_key_policy_of(organization).max_lifetime_days
    if max_days is None:
        return
    latest = now + timedelta(days=max_days)
    if expires_at is None:
        raise ValidationError(
            {field: [f"This organization's keys must expire within {max_days} days: give a date."]}
        )
    if expires_at > latest:
        raise ValidationError(
            {
                field: [
                    f"This organization's keys live at most {max_days} days: expire by "
                    f"{latest.isoformat(timespec='seconds')}."
                ]
            }
        )


def _check_within_acting_key(
    acting_key: ApiKey | None, *, expires_at, allowed_ips: list[str], errors_on: str | None = None
) -> None:
    """A key issued by a request made with another key does not outlive it, nor leave its networks.

    Otherwise a short-lived or IP-bound key could mint itself a free copy.
    `errors_on` puts both errors on one field (a rotation has neither field).
    """
    if acting_key is None:
        return
    if acting_key.expiry_date is not None and (
        expires_at is None or expires_at > acting_key.expiry_date
    ):
        latest = acting_key.expiry_date.isoformat(timespec="seconds")
        raise ValidationError(
            {
                errors_on or "expires_at": [
                    f"A key issued with an API key must expire when that key does or sooner "
                    f"(by {latest})."
                ]
            }
        )
    if not ip_rules.is_narrower_or_equal(allowed_ips, acting_key.allowed_ips):
        raise ValidationError(
            {
                errors_on or "allowed_ips": [
                    "A key issued with an API key may only be used from that key's networks: "
                    f"{', '.join(acting_key.allowed_ips)}."
                ]
            }
        )


def _issue(**fields) -> tuple[ApiKey, str]:
    """Save a new key with a fresh secret; returns it with the only copy of the full key."""
    for _attempt in range(3):
        key = ApiKey(**fields)
        raw_key = ApiKey.objects.assign_key(key)
        key.full_clean(
            exclude=["organization", "created_by", "replaced_by"],
            validate_unique=False,
            validate_constraints=False,
        )
        try:
            with transaction.atomic():  # a savepoint: another key may have drawn the same prefix
                key.save(force_insert=True)
        except IntegrityError:
            if not ApiKey.objects.filter(prefix=key.prefix).exists():
                raise
            continue
        return key, raw_key
    raise ConflictError("Could not draw a free key prefix; try again.")


def _announce(key: ApiKey, *, rotated_from: ApiKey | None) -> None:
    def send() -> None:
        api_key_created.send(
            sender=ApiKey, key=key, created_by=key.created_by, rotated_from=rotated_from
        )

    transaction.on_commit(send, robust=True)


@transaction.atomic
def api_key_create(
    *,
    access: MemberAccess,
    name: str,
    scopes: list[str],
    allowed_ips: list[str] | None = None,
    expires_at=None,
    rate_limit: int | None = None,
    acting_key: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Issue a key of the caller's organization that acts as the caller within `scopes`.

    `acting_key` is the key the request was made with, if any: the new key then
    stays within its scopes (through `access`), lifetime and networks.
    Returns the key and the full secret, which is not stored and cannot be shown again.
    """
    now = timezone.now()
    organization = access.organization
    scopes = _clean_scopes(scopes, access=access)
    allowed_ips = _clean_allowed_ips(allowed_ips)
    _check_expiry(expires_at, organization=organization, now=now, field="expires_at")
    _check_rate_limit(rate_limit, access=access)
    _check_within_acting_key(acting_key, expires_at=expires_at, allowed_ips=allowed_ips)
    if acting_key is not None and acting_key.rate_limit:
        # A key cannot mint itself a copy with a looser limit.
        if rate_limit is None:
            rate_limit = acting_key.rate_limit
        elif rate_limit > acting_key.rate_limit:
            raise ValidationError(
                {
                    "rate_limit": [
                        "A key issued with an API key cannot have a higher rate limit than "
                        f"that key ({acting_key.rate_limit})."
                    ]
                }
            )
    key, raw_key = _issue(
        organization=organization,
        created_by=access.user,
        name=name,
        scopes=scopes,
        allowed_ips=allowed_ips,
        expiry_date=expires_at,
        rate_limit=rate_limit,
    )
    _announce(key, rotated_from=None)
    logger.info(
        "API key %s (%s) created in %s by user %s with scopes %s",
        key.pk,
        key.displayed_prefix,
        organization.slug,
        access.user.pk,
        ", ".join(scopes),
    )
    return key, raw_key


@transaction.atomic
def api_key_update(
    *,
    key: ApiKey,
    acting_user,
    name: str | None = None,
    scopes: list[str] | None = None,
    allowed_ips: list[str] | None = None,
    expires_at=None,
    rate_limit: int | None = None,
) -> ApiKey:
    """Rename a key or narrow it. Arguments left as None keep their value.

    Fewer scopes, a subset of its networks, an earlier expiry or a lower rate
    limit are accepted; anything wider is refused, as it takes a new key. The
    key is locked and read again, so that two concurrent changes, each narrower
    than what they read, cannot together leave it wider than the first made it.
    """
    now = timezone.now()
    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    changed = []
    if name is not None:
        key.name = name
        changed.append("name")
    if scopes is not None:
        unknown = sorted(set(scopes) - catalog.ALL_PERMISSIONS)
        if unknown or not scopes:
            raise ValidationError({"scopes": ["Give known `resource:action` permissions."]})
        if not catalog.expand(scopes) <= catalog.expand(key.scopes):
            raise ValidationError({"scopes": [NOT_WIDER.format(field="A key's scopes")]})
        key.scopes = sorted(set(scopes))
        changed.append("scopes")
    if allowed_ips is not None:
        cleaned = _clean_allowed_ips(allowed_ips)
        if not ip_rules.is_narrower_or_equal(cleaned, key.allowed_ips):
            raise ValidationError({"allowed_ips": [NOT_WIDER.format(field="A key's allowed IPs")]})
        key.allowed_ips = cleaned
        changed.append("allowed_ips")
    if expires_at is not None:
        if expires_at <= now:
            raise ValidationError({"expires_at": ["The expiry must be in the future."]})
        if key.expiry_date is not None and expires_at > key.expiry_date:
            raise ValidationError(
                {"expires_at": ["A key's expiry cannot be moved later: create a new key."]}
            )
        key.expiry_date = expires_at
        changed.append("expiry_date")
    if rate_limit is not None:
        ceiling = key.rate_limit if key.rate_limit is not None else settings.RATE_LIMIT_MAX
        if not 1 <= rate_limit <= ceiling:
            raise ValidationError(
                {"rate_limit": [NOT_WIDER.format(field=f"A key's rate limit ({ceiling})")]}
            )
        key.rate_limit = rate_limit
        changed.append("rate_limit")
    if changed:
        key.full_clean(
            exclude=["organization", "created_by", "replaced_by"],
            validate_unique=False,
            validate_constraints=False,
        )
        key.save(update_fields=changed)
    logger.info(
        "API key %s updated by user %s: %s",
        key.pk,
        getattr(acting_user, "pk", None),
        ", ".join(changed) or "nothing",
    )
    return key


@transaction.atomic
def api_key_revoke(*, key: ApiKey, acting_user) -> ApiKey:
    """Revoke a key for good (a revoked key cannot be restored); revoking twice is harmless."""
    if key.revoked:
        return key
    key.revoked = True
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked", "revoked_at"])
    logger.info("API key %s revoked by user %s", key.pk, getattr(acting_user, "pk", None))
    return key


@transaction.atomic
def api_key_rotate(
    *,
    key: ApiKey,
    access: MemberAccess,
    grace_hours: int | None = None,
    acting_key: ApiKey | None = None,
) -> tuple[ApiKey, str]:
    """Issue a replacement of `key` with its name, scopes, networks, expiry and rate limit.

    The replacement acts as the same creator. The old key keeps working for
    `grace_hours` (default API_KEY_ROTATION_GRACE_HOURS), then stops. The
    rotating member must hold every scope of the key, so that nobody obtains,
    through a rotation, a key that could do more than they could.
    """
    if grace_hours is None:
        grace_hours = settings.API_KEY_ROTATION_GRACE_HOURS
    if not 0 <= grace_hours <= MAX_ROTATION_GRACE_HOURS:
        raise ValidationError(
            {"grace_hours": [f"Give a number of hours from 0 to {MAX_ROTATION_GRACE_HOURS}."]}
        )
    now = timezone.now()
    key = ApiKey.objects.select_for_update().select_related("created_by").get(pk=key.pk)
    status = key.status_at(now)
    if status == ApiKeyStatus.REVOKED:
        raise ApiKeyRevokedError()
    if status == ApiKeyStatus.EXPIRED:
        raise ApiKeyExpiredError()
    if key.grace_expires_at is not None:
        raise ApiKeyAlreadyRotatedError()
    beyond = sorted(catalog.expand(key.scopes) - access.permissions)
    if beyond:
        raise PermissionDenied(
            f"You cannot rotate a key that holds more than you do; you do not hold: "
            f"{', '.join(beyond)}."
        )
    try:
        _check_expiry(
            key.expiry_date, organization=access.organization, now=now, field="expires_at"
        )
    except ValidationError as error:
        messages = error.message_dict["expires_at"]
        raise ValidationError(
            {"non_field_errors": [*messages, "Create a new key that follows the policy instead."]}
        ) from None
    _check_within_acting_key(
        acting_key,
        expires_at=key.expiry_date,
        allowed_ips=key.allowed_ips,
        errors_on="non_field_errors",
    )
    replacement, raw_key = _issue(
        organization_id=key.organization_id,
        created_by=key.created_by,
        name=key.name,
        scopes=key.scopes,
        allowed_ips=key.allowed_ips,
        expiry_date=key.expiry_date,
        rate_limit=key.rate_limit,
    )
    key.replaced_by = replacement
    key.grace_expires_at = now + timedelta(hours=grace_hours)
    key.save(update_fields=["replaced_by", "grace_expires_at"])
    _announce(replacement, rotated_from=key)
    logger.info(
        "API key %s rotated by user %s into %s; the old key works until %s",
        key.pk,
        access.user.pk,
        replacement.pk,
        key.grace_expires_at.isoformat(),
    )
    return replacement, raw_key


def api_keys_revoke_for_member(*, user_id, organization_id) -> int:
    """Revoke every key a member created in an organization (they left or were removed)."""
    revoked = ApiKey.objects.filter(
        organization_id=organization_id, created_by_id=user_id, revoked=False
    ).update(revoked=True, revoked_at=timezone.now())
    if revoked:
        logger.info(
            "Revoked %s API keys of user %s, no longer a member of %s",
            revoked,
            user_id,
            organization_id,
        )
    return revoked


@transaction.atomic
def api_key_policy_set(
    *, organization: Organization, acting_user, max_lifetime_days: int | None
) -> ApiKeyPolicy:
    """Set the organization's key policy; it applies to keys created from now on."""
    # Serialized by the organization lock, so the first policy is created once, and as one
    # audited write (not an empty policy created, then changed).
    lock_organization(organization.pk)
    policy = ApiKeyPolicy.objects.filter(organization=organization).first() or ApiKeyPolicy(
        organization=organization
    )
    policy.max_lifetime_days = max_lifetime_days
    policy.full_clean(exclude=["organization"], validate_unique=False)
    policy.save()
    logger.info(
        "API key policy of %s set by user %s: max lifetime %s days",
        organization.slug,
        getattr(acting_user, "pk", None),
        max_lifetime_days,
    )
    return policy


def api_keys_warn_expiring(*, now=None) -> int:
    """Send api_key_expiring once for each working key that expires within the warning window.

    Each key is claimed (expiry_warned_at set) in the transaction that sends its
    signal, so two runs never warn twice, and a receiver that fails leaves the
    key to be warned on the next run. Returns how many keys were warned.
    """
    now = now or timezone.now()
    due = ApiKey.objects.filter(
        revoked=False,
        grace_expires_at__isnull=True,
        expiry_warned_at__isnull=True,
        expiry_date__gt=now,
        expiry_date__lte=now + timedelta(days=EXPIRY_WARNING_DAYS),
    ).select_related("created_by", "organization")
    warned = 0
    for key in due:
        try:
            with transaction.atomic():
                claimed = ApiKey.objects.filter(pk=key.pk, expiry_warned_at__isnull=True).update(
                    expiry_warned_at=now
                )
                if not claimed:
                    continue
                key.expiry_warned_at = now
                days_left = math.ceil((key.expiry_date - now) / timedelta(days=1))
                api_key_expiring.send(sender=ApiKey, key=key, days_left=days_left)
        except Exception:
            logger.exception("Warning of API key %s expiring failed; retried next run", key.pk)
            continue
        warned += 1
    return warned


_cache_failure_logged_at = -math.inf


def api_key_record_use(*, key: ApiKey, ip: str, now=None) -> bool:
    """Write when and from where a key was last used, at most once per LAST_USED_INTERVAL.

    The shared cache says whether this minute's write was already made
    (`cache.add` is atomic in Redis). If the cache is down, nothing is written:
    a write per request would put the database under the load the cache spares it.
    """
    global _cache_failure_logged_at
    try:
        first = cache.add(f"apikeys:last-used:{key.pk}", 1, timeout=LAST_USED_INTERVAL)
    except Exception:
        if time.monotonic() - _cache_failure_logged_at >= 60:
            _cache_failure_logged_at = time.monotonic()
            logger.warning("Cache unavailable: API key last use not recorded", exc_info=True)
        return False
    if not first:
        return False
    try:
        address = str(ipaddress.ip_address(ip))
    except ValueError:
        address = None
    now = now or timezone.now()
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now, last_used_ip=address)
    key.last_used_at, key.last_used_ip = now, address
    return True
