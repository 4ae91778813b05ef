"""Reads of knowledge bases, documents and chunks, each narrowed to its owner."""

from django.db.models import Count, QuerySet

from apps.organizations.models import Organization

from .models import Chunk, Document, KnowledgeBase


def knowledge_base_list(*, organization: Organization) -> QuerySet[KnowledgeBase]:
    """The organization's knowledge bases, each annotated with its `document_count`."""
    return (
        KnowledgeBase.objects.filter(organization=organization)
        .select_related("created_by")
        .annotate(document_count=Count("documents"))
    )


def document_list(*, knowledge_base: KnowledgeBase) -> QuerySet[Document]:
    return Document.objects.filter(
        organization_id=knowledge_base.organization_id, knowledge_base=knowledge_base
    ).select_related("created_by")


def chunk_list(*, document: Document) -> QuerySet[Chunk]:
    return Chunk.objects.filter(document=document).order_by("index")
