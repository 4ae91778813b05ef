from rest_framework import serializers

from apps.accounts.api.serializers import UserSummarySerializer
from apps.knowledge.models import Chunk, Document, KnowledgeBase
from apps.knowledge.services import DOCUMENT_NAME_MAX_LENGTH


class KnowledgeBaseSerializer(serializers.ModelSerializer):
    """A knowledge base; chunk settings default to the platform's when omitted."""

    chunk_size = serializers.IntegerField(
        min_value=100,
        max_value=20000,
        required=False,
        help_text="Characters per chunk, 100 to 20000 (default: the KNOWLEDGE_CHUNK_SIZE setting)",
    )
    chunk_overlap = serializers.IntegerField(
        min_value=0,
        max_value=10000,
        required=False,
        help_text=(
            "Characters each chunk repeats from the end of the previous one, 0 to 10000 and "
            "less than chunk_size (default: the KNOWLEDGE_CHUNK_OVERLAP setting). Changing either "
            "setting does not re-chunk existing documents: use reingest."
        ),
    )
    document_count = serializers.IntegerField(read_only=True)
    created_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = KnowledgeBase
        fields = (
            "id",
            "name",
            "description",
            "chunk_size",
            "chunk_overlap",
            "document_count",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "document_count", "created_by", "created_at", "updated_at")


class KnowledgeBaseReingestSerializer(serializers.Serializer):
    documents_queued = serializers.IntegerField(
        read_only=True, help_text="How many documents were set back to pending and queued."
    )


class DocumentSerializer(serializers.ModelSerializer):
    """A document and the state of its ingestion."""

    created_by = UserSummarySerializer(read_only=True)

    class Meta:
        model = Document
        fields = (
            "id",
            "knowledge_base",
            "name",
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
        read_only_fields = fields
        extra_kwargs = {
            "name": {"help_text": "The uploaded file's name (renaming keeps its extension)."},
            "content_type": {"help_text": "The media type the client declared at upload."},
            "error": {"help_text": "Why ingestion failed; empty unless status is failed."},
            "ingested_at": {"help_text": "When the current chunks were stored."},
        }


class DocumentUploadSerializer(serializers.Serializer):
    file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text=(
            "The file to ingest, as multipart/form-data. Types and maximum size are set by "
            "KNOWLEDGE_ALLOWED_EXTENSIONS and KNOWLEDGE_MAX_UPLOAD_BYTES."
        ),
    )


class DocumentUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=DOCUMENT_NAME_MAX_LENGTH,
        help_text="A new name for the document; it must keep the file's extension.",
    )


class ChunkSerializer(serializers.ModelSerializer):
    class Meta:
        model = Chunk
        fields = ("id", "index", "content", "start_offset", "end_offset", "created_at")
        read_only_fields = fields
        extra_kwargs = {
            "start_offset": {"help_text": "Where the chunk starts in the extracted text."},
            "end_offset": {"help_text": "Where it ends (exclusive)."},
        }
