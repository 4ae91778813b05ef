"""Reads of conversations and messages that need more than a manager method."""

from django.db.models import Count, Max, QuerySet

from apps.organizations.models import Organization

from .models import Conversation, Message


def conversation_list(*, organization: Organization) -> QuerySet[Conversation]:
    """An organization's conversations, with their owner and message statistics.

    `message_count` and `last_message_at` are computed in the same query, so a
    page of conversations costs one query whatever its size.
    """
    return (
        Conversation.objects.filter(organization=organization)
        .select_related("owner")
        .annotate(message_count=Count("messages"), last_message_at=Max("messages__created_at"))
    )


def message_list(*, conversation: Conversation) -> QuerySet[Message]:
    """The messages of one conversation, oldest first (with it, for the owner policy)."""
    return (
        Message.objects.filter(
            conversation=conversation, organization_id=conversation.organization_id
        )
        .select_related("conversation")
        .order_by("created_at")
    )
