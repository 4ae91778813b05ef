import re

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from apps.access import catalog
from apps.access.models import RoleGrantBase, UserGrantBase
from apps.core.models import UUIDPrimaryKeyModel
from apps.organizations.models import OrganizationOwnedModel


def default_chunk_size() -> int:
    return settings.KNOWLEDGE_CHUNK_SIZE


def default_chunk_overlap() -> int:
    return settings.KNOWLEDGE_CHUNK_OVERLAP


class KnowledgeBase(OrganizationOwnedModel):
    """A collection of documents an agent can draw on, split into chunks."""

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=4000)
    chunk_size = models.PositiveIntegerField(
        default=default_chunk_size,
        validators=[MinValueValidator(100), MaxValueValidator(20000)],
        help_text="Characters per chunk.",
    )
    chunk_overlap = models.PositiveIntegerField(
        default=default_chunk_overlap,
        validators=[MaxValueValidator(10000)],
        help_text="Characters each chunk repeats from the end of the previous one.",
    )

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("knowledge_bases")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="knowledge_knowledgebase_unique_name"
            ),
            # Each chunk must move past the start of the previous one, or chunking never ends.
            models.CheckConstraint(
                condition=models.Q(chunk_overlap__lt=models.F("chunk_size")),
                name="knowledge_knowledgebase_overlap_below_size",
                violation_error_message="The chunk overlap must be less than the chunk size.",
            ),
        ]

    def __str__(self):
        return self.name


_STORED_EXTENSION = re.compile(r"\.[a-z0-9]{1,10}")


def stored_extension(filename: str) -> str:
    """The lower-case extension of `filename` (".txt"), or "" if it has none usable in a path."""
    _stem, dot, suffix = filename.rpartition(".")
    extension = f".{suffix.lower()}" if dot else ""
    return extension if _STORED_EXTENSION.fullmatch(extension) else ""


def document_upload_to(document: "Document", filename: str) -> str:
    # The stored name is ours, not the client's (which is kept in `name`); only the
    # extension is carried over, so the stored file says what type it was accepted as.
    return (
        f"knowledge/{document.organization_id}/{document.knowledge_base_id}/"
        f"{document.id}{stored_extension(filename)}"
    )


class Document(OrganizationOwnedModel):
    """An uploaded file of a knowledge base, and the state of its ingestion."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        PROCESSING = "processing", "Processing"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    knowledge_base = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="documents"
    )
    name = models.CharField(max_length=255, help_text="The uploaded file's name.")
    file = models.FileField(upload_to=document_upload_to, max_length=255)
    content_type = models.CharField(max_length=100, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    error = models.TextField(blank=True)
    chunk_count = models.PositiveIntegerField(default=0)
    ingested_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.name


class Chunk(UUIDPrimaryKeyModel):
    """A piece of a document's text, in order, overlapping its neighbours."""

    organization = models.ForeignKey(
        "organizations.Organization", on_delete=models.CASCADE, related_name="+"
    )
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    content = models.TextField()
    start_offset = models.PositiveIntegerField()
    end_offset = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["document", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "index"], name="knowledge_chunk_unique_index"
            ),
        ]

    def __str__(self):
        return f"{self.document} #{self.index}"


class KnowledgeBaseUserGrant(UserGrantBase):
    """An action on one knowledgebase granted to one member."""

    content_object = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="user_grants"
    )


class KnowledgeBaseRoleGrant(RoleGrantBase):
    """An action on one knowledgebase granted to every member holding a role."""

    content_object = models.ForeignKey(
        KnowledgeBase, on_delete=models.CASCADE, related_name="role_grants"
    )
