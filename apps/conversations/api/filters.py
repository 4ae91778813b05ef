import django_filters

from apps.conversations.models import Conversation, Message


class ConversationFilter(django_filters.FilterSet):
    agent = django_filters.UUIDFilter(field_name="agent_id", help_text="Agent id.")
    owner = django_filters.UUIDFilter(field_name="owner_id", help_text="Owner's user id.")
    title = django_filters.CharFilter(lookup_expr="icontains")
    created_after = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="gte", help_text="Created at or after (ISO 8601)."
    )
    created_before = django_filters.IsoDateTimeFilter(
        field_name="created_at", lookup_expr="lte", help_text="Created at or before (ISO 8601)."
    )

    class Meta:
        model = Conversation
        fields = ("agent", "owner", "title", "created_after", "created_before")


class MessageFilter(django_filters.FilterSet):
    role = django_filters.ChoiceFilter(choices=Message.Role.choices)

    class Meta:
        model = Message
        fields = ("role",)
