from rest_framework import serializers

from apps.accounts.api.serializers import UserSummarySerializer
from apps.organizations.models import Membership, Organization, Role, slug_validator


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


class MembershipSerializer(serializers.ModelSerializer):
    user = UserSummarySerializer(read_only=True)

    class Meta:
        model = Membership
        fields = ("id", "user", "role", "created_at", "updated_at")
        read_only_fields = fields


class MembershipCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=Role.choices)


class MembershipUpdateSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)
