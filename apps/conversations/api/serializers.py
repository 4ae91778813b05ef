from rest_framework import serializers

from apps.accounts.api.serializers import UserSummarySerializer
from apps.agents.models import Agent
from apps.conversations.models import Conversation, Message
from apps.organizations.api.fields import OrganizationScopedRelatedField

ROLE_CHOICES_TEXT = ", ".join(Message.Role.values)
CONTENT_MAX_LENGTH = 200_000


class ConversationSerializer(serializers.ModelSerializer):
    agent = OrganizationScopedRelatedField(
        queryset=Agent.objects.all(),
        help_text="Id of an active agent of this organization.",
    )
    owner = UserSummarySerializer(
        read_only=True,
        allow_null=True,
        help_text="The member the conversation belongs to: its creator.",
    )
    message_count = serializers.IntegerField(read_only=True)
    last_message_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the newest message was added, if any."
    )

    class Meta:
        model = Conversation
        fields = (
            "id",
            "agent",
            "title",
            "owner",
            "message_count",
            "last_message_at",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_at", "updated_at")
        extra_kwargs = {"title": {"max_length": 200, "required": False, "allow_blank": True}}


class MessageSerializer(serializers.ModelSerializer):
    role = serializers.ChoiceField(
        choices=Message.Role.choices,
        error_messages={
            "invalid_choice": f'"{{input}}" is not a valid role. Choose from: {ROLE_CHOICES_TEXT}.'
        },
    )
    # Kept exactly as sent (no trimming): whitespace can matter in model output and code.
    content = serializers.CharField(max_length=CONTENT_MAX_LENGTH, trim_whitespace=False)
    prompt_tokens = serializers.IntegerField(min_value=0, max_value=2_147_483_647, default=0)
    completion_tokens = serializers.IntegerField(min_value=0, max_value=2_147_483_647, default=0)

    class Meta:
        model = Message
        fields = (
            "id",
            "conversation",
            "role",
            "content",
            "prompt_tokens",
            "completion_tokens",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "conversation", "created_at", "updated_at")

    def validate_content(self, value: str) -> str:
        if not value.strip():
            raise serializers.ValidationError("This field may not be blank.")
        return value
