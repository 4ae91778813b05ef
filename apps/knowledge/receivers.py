"""Keep stored files in step with the documents that own them.

A receiver rather than a line in `document_delete`: documents are also deleted
by cascade (with their knowledge base, or with their whole organization, whose
deletion belongs to another app) and from the admin, and each of those must
remove the stored file too.
"""

import logging

from django.db import transaction
from django.db.models.signals import post_delete
from django.dispatch import receiver

from .models import Document

logger = logging.getLogger(__name__)


@receiver(post_delete, sender=Document, dispatch_uid="knowledge_delete_stored_file")
def delete_stored_file(sender, instance: Document, using: str, **kwargs) -> None:
    """Delete a deleted document's file once the deletion is committed (never if rolled back)."""
    name = instance.file.name
    if not name:
        return
    storage = instance.file.storage

    def delete_file() -> None:
        storage.delete(name)

    # robust: a storage failure is logged, it does not turn a done deletion into an error.
    transaction.on_commit(delete_file, using=using, robust=True)
