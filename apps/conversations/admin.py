from django.contrib import admin
from django.db.models import Count

from apps.organizations.admin_base import OrganizationOwnedAdmin

from .models import Conversation, Message


@admin.register(Conversation)
class ConversationAdmin(OrganizationOwnedAdmin):
    list_display = ("__str__", "organization", "agent", "owner", "message_count", "updated_at")
    list_filter = ("created_at", "updated_at")
    search_fields = ("title", "agent__name", "owner__email", "organization__slug")
    list_select_related = ("organization", "agent", "owner")
    raw_id_fields = ("organization", "agent", "owner", "created_by")
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_message_count=Count("messages"))

    @admin.display(description="Messages", ordering="_message_count")
    def message_count(self, obj) -> int:
        return obj._message_count


@admin.register(Message)
class MessageAdmin(OrganizationOwnedAdmin):
    list_display = (
        "__str__",
        "role",
        "conversation",
        "organization",
        "prompt_tokens",
        "completion_tokens",
        "created_at",
    )
    list_filter = ("role", "created_at")
    search_fields = ("conversation__title", "organization__slug", "created_by__email")
    list_select_related = ("conversation", "organization")
    raw_id_fields = ("organization", "conversation", "created_by")
    readonly_fields = ("id", "created_at", "updated_at")
