import factory
from django.core.files.base import ContentFile

from apps.knowledge.models import Document, KnowledgeBase
from tests.factories import OrganizationFactory


class KnowledgeBaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = KnowledgeBase

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Knowledge base {n}")
    chunk_size = 1000
    chunk_overlap = 200


class DocumentFactory(factory.django.DjangoModelFactory):
    """A stored document, as an upload leaves it (pending), without queuing its ingestion."""

    class Meta:
        model = Document

    class Params:
        content = b"Some text."

    knowledge_base = factory.SubFactory(KnowledgeBaseFactory)
    organization = factory.SelfAttribute("knowledge_base.organization")
    name = factory.Sequence(lambda n: f"notes-{n}.txt")
    file = factory.LazyAttribute(lambda document: ContentFile(document.content, name=document.name))
    size_bytes = factory.LazyAttribute(lambda document: len(document.content))
