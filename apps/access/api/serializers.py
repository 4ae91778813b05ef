from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.access import catalog
from apps.access.grants import GRANTABLE_ACTIONS
from apps.access.models import Role
from apps.accounts.api.serializers import UserSummarySerializer
from apps.accounts.models import User


class GrantSerializer(serializers.Serializer):
    """One action on one object, granted to a member or to a role."""

    id = serializers.UUIDField(read_only=True)
    principal = serializers.SerializerMethodField()
    user = serializers.SerializerMethodField()
    role = serializers.SerializerMethodField()
    action = serializers.SerializerMethodField()
    granted_by = serializers.UUIDField(source="granted_by_id", read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def get_principal(self, grant) -> str:
        return "user" if hasattr(grant, "user_id") else "role"

    @extend_schema_field(UserSummarySerializer(allow_null=True))
    def get_user(self, grant):
        return UserSummarySerializer(grant.user).data if hasattr(grant, "user_id") else None

    def get_role(self, grant) -> str | None:
        return grant.group.role.key if hasattr(grant, "group_id") else None

    def get_action(self, grant) -> str:
        return catalog.action_of(grant.permission.codename)


class GrantCreateSerializer(serializers.Serializer):
    """Grant actions on the object to a member (`user`, by id) or a role (`role`, by key)."""

    user = serializers.UUIDField(required=False)
    role = serializers.CharField(required=False, max_length=50)
    actions = serializers.ListField(
        child=serializers.ChoiceField(choices=GRANTABLE_ACTIONS), min_length=1, max_length=5
    )

    def validate(self, attrs):
        if ("user" in attrs) == ("role" in attrs):
            raise serializers.ValidationError("Give either a user or a role.")
        organization = self.context["view"].organization
        if "user" in attrs:
            # Any id that is not a member reads the same, so this cannot probe for accounts.
            user = User.objects.filter(
                pk=attrs["user"], memberships__organization=organization
            ).first()
            if user is None:
                raise serializers.ValidationError(
                    {"user": ["This user is not a member of this organization."]}
                )
            attrs["user"] = user
        else:
            role = Role.objects.available_to(organization).filter(key=attrs["role"]).first()
            if role is None:
                raise serializers.ValidationError(
                    {"role": ["This role does not exist in this organization."]}
                )
            attrs["role"] = role
        return attrs


class RoleSerializer(serializers.ModelSerializer):
    """A role: built-in (read-only) or one of the organization's own."""

    permissions = serializers.ListField(
        source="permission_names",
        child=serializers.ChoiceField(choices=sorted(catalog.ALL_PERMISSIONS)),
        max_length=len(catalog.ALL_PERMISSIONS),
        help_text="resource:action names; manage implies the other actions of its resource.",
    )
    is_builtin = serializers.BooleanField(read_only=True)
    member_count = serializers.IntegerField(read_only=True, default=None)

    class Meta:
        model = Role
        fields = (
            "id",
            "key",
            "name",
            "description",
            "permissions",
            "is_builtin",
            "member_count",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        extra_kwargs = {"key": {"validators": []}}


class RoleUpdateSerializer(RoleSerializer):
    class Meta(RoleSerializer.Meta):
        read_only_fields = ("id", "key", "created_at", "updated_at")
