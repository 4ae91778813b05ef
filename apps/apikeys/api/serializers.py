from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access import catalog
from apps.accounts.api.serializers import UserSummarySerializer
from apps.apikeys import ip_rules
from apps.apikeys.models import ApiKey, ApiKeyPolicy, ApiKeyStatus
from apps.apikeys.services import MAX_RATE_LIMIT, MAX_ROTATION_GRACE_HOURS

SCOPE_CHOICES = sorted(catalog.ALL_PERMISSIONS)


# Named components of their own: as generated enums they would collide with the roles'
# permission enum and with the other "status" enums of the schema.
@extend_schema_field(
    {"type": "string", "enum": SCOPE_CHOICES, "description": "A `resource:action` permission."},
    component_name="ApiKeyScope",
)
class ScopeField(serializers.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(choices=SCOPE_CHOICES, **kwargs)


@extend_schema_field(
    {
        "type": "string",
        "enum": ApiKeyStatus.values,
        "description": "; ".join(f"`{v}`: {label}" for v, label in ApiKeyStatus.choices),
    },
    component_name="ApiKeyStatus",
)
class StatusField(serializers.ReadOnlyField):
    """Whether a key works now, and if not, why not."""


def _scopes_field(**kwargs):
    return serializers.ListField(
        child=ScopeField(),
        min_length=1,
        max_length=len(SCOPE_CHOICES),
        help_text="`resource:action` permissions the key may use (`manage` implies the rest).",
        **kwargs,
    )


def _allowed_ips_field(**kwargs):
    return serializers.ListField(
        child=serializers.CharField(max_length=64),
        max_length=ip_rules.MAX_ALLOWED_IPS,
        help_text="IP addresses or CIDR networks the key may be used from; empty: any.",
        **kwargs,
    )


class ApiKeySerializer(serializers.ModelSerializer):
    """An API key as lists show it: never its secret, never its hash."""

    prefix = serializers.CharField(
        source="displayed_prefix",
        read_only=True,
        help_text="The start of the key, to recognise it: agentry_ and 8 characters.",
    )
    scopes = serializers.ListField(child=ScopeField(), read_only=True)
    allowed_ips = serializers.ListField(child=serializers.CharField(), read_only=True)
    created_by = UserSummarySerializer(read_only=True)
    created_at = serializers.DateTimeField(source="created", read_only=True)
    expires_at = serializers.DateTimeField(source="expiry_date", read_only=True, allow_null=True)
    status = StatusField()

    class Meta:
        model = ApiKey
        fields = (
            "id",
            "name",
            "prefix",
            "scopes",
            "allowed_ips",
            "rate_limit",
            "created_by",
            "created_at",
            "expires_at",
            "last_used_at",
            "last_used_ip",
            "status",
            "revoked",
            "revoked_at",
            "replaced_by",
            "grace_expires_at",
        )
        read_only_fields = fields


class IssuedApiKeySerializer(ApiKeySerializer):
    """A key just issued, with the full secret: shown in this response only."""

    key = serializers.SerializerMethodField(
        help_text="The full key. Store it now: it is not stored and cannot be shown again."
    )

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")
        read_only_fields = fields

    def get_key(self, key: ApiKey) -> str:
        return self.context["raw_key"]


class RotatedApiKeySerializer(IssuedApiKeySerializer):
    """The replacement of a rotated key, with its secret, and the key it replaces."""

    rotated_from = serializers.SerializerMethodField()

    class Meta(IssuedApiKeySerializer.Meta):
        fields = (*IssuedApiKeySerializer.Meta.fields, "rotated_from")
        read_only_fields = fields

    @extend_schema_field(ApiKeySerializer)
    def get_rotated_from(self, key: ApiKey) -> dict:
        return ApiKeySerializer(self.context["rotated_from"]).data


class ApiKeyCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=50)
    scopes = _scopes_field()
    allowed_ips = _allowed_ips_field(required=False, default=list)
    expires_at = serializers.DateTimeField(
        required=False,
        allow_null=True,
        default=None,
        help_text="When the key stops working; required if the organization's policy "
        "sets a maximum lifetime.",
    )
    rate_limit = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=MAX_RATE_LIMIT,
        help_text="Requests per RATE_LIMIT_TTL seconds for this key; empty: the default. "
        "Above the default only for members who manage API keys.",
    )


class ApiKeyUpdateSerializer(serializers.Serializer):
    """A new name; the other fields may only narrow the key (widening takes a new key)."""

    name = serializers.CharField(max_length=50, required=False)
    scopes = _scopes_field(required=False)
    allowed_ips = _allowed_ips_field(required=False)
    expires_at = serializers.DateTimeField(
        source="expiry_date", required=False, help_text="Only earlier."
    )
    rate_limit = serializers.IntegerField(
        required=False, min_value=1, max_value=MAX_RATE_LIMIT, help_text="Only lower."
    )


class ApiKeyRotateSerializer(serializers.Serializer):
    grace_hours = serializers.IntegerField(
        required=False,
        min_value=0,
        max_value=MAX_ROTATION_GRACE_HOURS,
        help_text="Hours the old key keeps working (default: API_KEY_ROTATION_GRACE_HOURS).",
    )


class ApiKeyPolicySerializer(serializers.ModelSerializer):
    max_lifetime_days = serializers.IntegerField(
        min_value=1,
        max_value=3650,
        allow_null=True,
        help_text="Longest lifetime of a new key, in days; null: keys may live forever.",
    )

    class Meta:
        model = ApiKeyPolicy
        fields = ("max_lifetime_days", "updated_at")
        read_only_fields = ("updated_at",)
