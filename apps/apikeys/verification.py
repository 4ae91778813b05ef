"""Whether a presented API key may be used, and if not, why not.

One indexed query (the unique prefix, with the creator joined and their
membership as a subquery) and one SHA-512 hash per check: see keys.py for the
measurements and bench/apikey_verify.py to repeat them.
"""

import enum

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from apps.organizations.models import Membership

from . import ip_rules
from .keys import prefix_of
from .models import ApiKey, ApiKeyStatus


class Reason(enum.StrEnum):
    """Why a presented key was refused (the `reason` of the api_key_rejected signal)."""

    MALFORMED = "malformed"
    UNKNOWN = "unknown"
    REVOKED = "revoked"
    EXPIRED = "expired"
    ROTATED = "rotated"
    IP_NOT_ALLOWED = "ip_not_allowed"
    CREATOR_INACTIVE = "creator_inactive"
    CREATOR_NOT_MEMBER = "creator_not_member"


MESSAGES = {
    Reason.MALFORMED: "Invalid API key.",
    Reason.UNKNOWN: "Invalid API key.",
    Reason.REVOKED: "This API key has been revoked.",
    Reason.EXPIRED: "This API key has expired.",
    Reason.ROTATED: "This API key was rotated and its grace period is over; use its replacement.",
    Reason.IP_NOT_ALLOWED: "This API key may not be used from this IP address.",
    Reason.CREATOR_INACTIVE: "The account this API key acts for is disabled.",
    Reason.CREATOR_NOT_MEMBER: "The account this API key acts for left its organization.",
}


class KeyRejected(Exception):
    """A presented key that may not be used; `key` is None when it matches no stored key."""

    def __init__(self, reason: Reason, *, key: ApiKey | None = None, prefix: str = ""):
        self.reason = reason
        self.key = key
        self.prefix = prefix
        super().__init__(MESSAGES[reason])


def key_lookup(prefix: str) -> QuerySet[ApiKey]:
    """The key with this prefix, its creator joined and their membership as a subquery.

    Three index lookups in one query: the unique prefix, the user's primary key,
    and the (organization, user) unique constraint of memberships.
    """
    creator_is_member = Membership.objects.filter(
        organization_id=OuterRef("organization_id"), user_id=OuterRef("created_by_id")
    )
    return (
        ApiKey.objects.select_related("created_by")
        .annotate(creator_is_member=Exists(creator_is_member))
        .filter(prefix=prefix)
    )


def find_key(raw_key: str) -> ApiKey:
    """The stored key `raw_key` is, with its creator loaded, or KeyRejected (malformed, unknown).

    One query on the unique prefix; the hash is compared in constant time.
    """
    prefix = prefix_of(raw_key)
    if prefix is None:
        raise KeyRejected(Reason.MALFORMED)
    try:
        key = key_lookup(prefix).get()
    except ApiKey.DoesNotExist:
        raise KeyRejected(Reason.UNKNOWN, prefix=prefix) from None
    if not key.is_valid(raw_key):
        # The prefix is public (lists show it); without the secret the key is not known.
        raise KeyRejected(Reason.UNKNOWN, prefix=prefix)
    return key


def check_key(raw_key: str, *, ip: str, now=None) -> ApiKey:
    """The key `raw_key` is, if it may be used now from `ip`; otherwise KeyRejected."""
    key = find_key(raw_key)
    status = key.status_at(now or timezone.now())
    refused = {
        ApiKeyStatus.REVOKED: Reason.REVOKED,
        ApiKeyStatus.EXPIRED: Reason.EXPIRED,
        ApiKeyStatus.ROTATED: Reason.ROTATED,
    }.get(status)
    if refused is None and not key.created_by.is_active:
        refused = Reason.CREATOR_INACTIVE
    if refused is None and not key.creator_is_member:
        # Removal revokes a member's keys; this covers a removal that bypassed the signal.
        refused = Reason.CREATOR_NOT_MEMBER
    if refused is None and not ip_rules.is_allowed(key.allowed_ips, ip):
        refused = Reason.IP_NOT_ALLOWED
    if refused is not None:
        raise KeyRejected(refused, key=key, prefix=key.prefix)
    return key
