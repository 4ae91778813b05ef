from rest_framework import serializers

from apps.accounts.models import User


class UserSummarySerializer(serializers.ModelSerializer):
    """A user as other members of an organization see them."""

    class Meta:
        model = User
        fields = ("id", "email", "display_name")
        read_only_fields = fields


class MeSerializer(serializers.ModelSerializer):
    """The signed-in user's own profile."""

    class Meta:
        model = User
        fields = ("id", "email", "display_name", "created_at", "updated_at")
        read_only_fields = ("id", "email", "created_at", "updated_at")
