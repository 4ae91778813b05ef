"""Background jobs of knowledge bases: thin wrappers that load by id and call a service."""

import logging

from celery import shared_task

from . import services
from .models import Document

logger = logging.getLogger(__name__)


@shared_task(name="knowledge.ingest_document", ignore_result=True)
def ingest_document(document_id: str) -> None:
    """Extract, chunk and store the text of one document (see `services.document_ingest`)."""
    document = (
        Document.objects.select_related("organization", "knowledge_base")
        .filter(pk=document_id)
        .first()
    )
    if document is None:
        logger.info("Document %s was deleted before its ingestion ran.", document_id)
        return
    services.document_ingest(document=document)
