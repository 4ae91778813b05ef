import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from rest_framework_api_key.models import AbstractAPIKey, BaseAPIKeyManager

from apps.audit.querysets import AuditedQuerySet
from apps.core.models import TimeStampedModel, UUIDPrimaryKeyModel

from .keys import AgentryKeyGenerator, displayed_prefix


class ApiKeyManager(BaseAPIKeyManager.from_queryset(AuditedQuerySet)):
    """The library's manager, with agentry's key format and an opaque id of our own.

    The library makes `prefix.hash` the primary key; here the id is a random
    UUID, so that neither the hash nor a sequence ever appears in a URL.
    """

    key_generator = AgentryKeyGenerator()

    def assign_key(self, obj: "ApiKey") -> str:
        key, prefix, hashed_key = self.key_generator.generate()
        obj.prefix = prefix
        obj.hashed_key = hashed_key
        return key


class ApiKeyStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    ROTATING = "rotating", "Rotated, working until its grace period ends"
    ROTATED = "rotated", "Rotated, grace period over"
    EXPIRED = "expired", "Expired"
    REVOKED = "revoked", "Revoked"


class ApiKey(AbstractAPIKey):
    """A key a program uses to act in one organization, as its creator, within chosen scopes.

    The key itself is shown once and stored only as a hash (`hashed_key`). A
    request made with it is its creator's, bounded by `scopes`: never more than
    the creator holds at the time of the request (apps.access.policy). It stops
    working when revoked, expired, used from outside `allowed_ips`, or rotated
    and past its grace period; removing the creator from the organization
    revokes it.
    """

    objects = ApiKeyManager()

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="api_keys"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    scopes = models.JSONField(
        default=list, help_text="The `resource:action` permissions the key may use."
    )
    allowed_ips = models.JSONField(
        default=list,
        blank=True,
        help_text="IP addresses and CIDR networks the key may be used from; empty: any.",
    )
    rate_limit = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Requests allowed per RATE_LIMIT_TTL seconds; empty: the global default.",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True)
    # Rotation: the old key points at its replacement and works until grace_expires_at.
    replaced_by = models.OneToOneField(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="replaces"
    )
    grace_expires_at = models.DateTimeField(null=True, blank=True)
    # When the creator was warned that the key expires soon (once per key).
    expiry_warned_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractAPIKey.Meta):
        abstract = False
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        indexes = [
            models.Index(fields=["organization", "created_by"], name="apikeys_org_creator_idx"),
            models.Index(fields=["expiry_date"], name="apikeys_expiry_idx"),
        ]

    is_api_key = True  # how apps.access.policy tells a key from other credentials

    @property
    def displayed_prefix(self) -> str:
        return displayed_prefix(self.prefix)

    def status_at(self, now=None) -> str:
        """Whether the key works at `now`, and if not, why not."""
        now = now or timezone.now()
        if self.revoked:
            return ApiKeyStatus.REVOKED
        if self.expiry_date is not None and self.expiry_date <= now:
            return ApiKeyStatus.EXPIRED
        if self.grace_expires_at is not None:
            return ApiKeyStatus.ROTATING if now < self.grace_expires_at else ApiKeyStatus.ROTATED
        return ApiKeyStatus.ACTIVE

    @property
    def status(self) -> str:
        return self.status_at()


class ApiKeyPolicy(UUIDPrimaryKeyModel, TimeStampedModel):
    """An organization's rules for new API keys, set by its Owners and Admins."""

    organization = models.OneToOneField(
        "organizations.Organization", on_delete=models.CASCADE, related_name="api_key_policy"
    )

    objects = AuditedQuerySet.as_manager()
    max_lifetime_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text="Longest lifetime of a new key, in days; empty: keys may live forever.",
    )

    class Meta:
        verbose_name = "API key policy"
        verbose_name_plural = "API key policies"

    def __str__(self):
        return f"API key policy of {self.organization_id}"
