from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access.models import Role
from apps.accounts.api.serializers import UserSummarySerializer
from apps.organizations.models import Membership, Organization, slug_validator


class OrganizationSerializer(serializers.ModelSerializer):
    slug = serializers.CharField(
        max_length=50,
        required=False,
        validators=[slug_validator],
        help_text="Unique; derived from the name when omitted.",
    )
    role = serializers.SerializerMethodField(help_text="The caller's role in this organization.")
    member_count = serializers.SerializerMethodField()

    class Meta:
        model = Organization
        fields = ("id", "name", "slug", "role", "member_count", "created_at", "updated_at")
        read_only_fields = ("id", "created_at", "updated_at")

    def get_role(self, obj) -> str | None:
        return getattr(obj, "my_role", None)

    def get_member_count(self, obj) -> int | None:
        return getattr(obj, "member_count", None)


class RoleKeyField(serializers.Field):
    """A role written by its key: a built-in one or one of the organization's custom roles."""

    default_error_messages = {
        "invalid": '"{given}" is not a valid choice. Roles here: {choices}.',
        "type": "Expected a role key, such as viewer.",
    }

    def to_representation(self, role):
        return role.key

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type")
        view = self.context["view"]
        roles = {role.key: role for role in Role.objects.available_to(view.organization)}
        if data not in roles:
            self.fail("invalid", given=data[:50], choices=", ".join(sorted(roles)))
        return roles[data]


@extend_schema_field(
    {
        "type": "string",
        "example": "editor",
        "description": "owner, admin, editor, viewer or a custom role's key",
    }
)
class RoleKeySchemaField(RoleKeyField):
    pass


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)
    role = RoleKeySchemaField(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "created_at", "updated_at")
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = RoleKeySchemaField()


class MembershipUpdateSerializer(serializers.Serializer):
    role = RoleKeySchemaField()
