from django.contrib import admin, messages
from django.db.models import Count

from apps.organizations.admin_base import OrganizationOwnedAdmin

from . import services
from .models import Chunk, Document, KnowledgeBase


@admin.register(KnowledgeBase)
class KnowledgeBaseAdmin(OrganizationOwnedAdmin):
    list_display = (
        "name",
        "organization",
        "chunk_size",
        "chunk_overlap",
        "document_count",
        "created_at",
    )
    search_fields = ("name", "description", "organization__slug", "organization__name")
    list_filter = ("created_at",)
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "created_by")
    readonly_fields = ("id", "created_at", "updated_at")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(document_count=Count("documents"))

    @admin.display(description="Documents", ordering="document_count")
    def document_count(self, knowledge_base) -> int:
        return knowledge_base.document_count


@admin.register(Document)
class DocumentAdmin(OrganizationOwnedAdmin):
    """Documents, read-only: uploads go through the API, which checks and queues them.

    From here a document can be ingested again, or deleted (its stored file too).
    """

    list_display = (
        "name",
        "knowledge_base",
        "organization",
        "status",
        "size_bytes",
        "chunk_count",
        "ingested_at",
        "created_at",
    )
    list_filter = ("status", "created_at")
    search_fields = ("name", "error", "knowledge_base__name", "organization__slug")
    list_select_related = ("knowledge_base", "organization")
    readonly_fields = (
        "id",
        "organization",
        "knowledge_base",
        "name",
        "file",
        "content_type",
        "size_bytes",
        "status",
        "error",
        "chunk_count",
        "ingested_at",
        "created_by",
        "created_at",
        "updated_at",
    )
    actions = ["reingest"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Ingest the selected documents again")
    def reingest(self, request, queryset):
        documents = list(queryset)
        for document in documents:
            services.document_reingest(document=document)
        self.message_user(request, f"{len(documents)} document(s) queued.", messages.SUCCESS)


@admin.register(Chunk)
class ChunkAdmin(admin.ModelAdmin):
    """Chunks are written only by ingestion; the admin shows them."""

    list_display = ("document", "index", "start_offset", "end_offset", "created_at")
    search_fields = ("content", "document__name")
    list_select_related = ("document",)
    readonly_fields = (
        "id",
        "organization",
        "document",
        "index",
        "content",
        "start_offset",
        "end_offset",
        "created_at",
    )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
