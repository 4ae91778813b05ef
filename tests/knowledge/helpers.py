"""URLs and files the knowledge tests share."""

from django.core.files.uploadedfile import SimpleUploadedFile


def knowledge_bases_url(slug="acme") -> str:
    return f"/api/v1/orgs/{slug}/knowledge-bases/"


def knowledge_base_url(knowledge_base, slug="acme") -> str:
    return f"{knowledge_bases_url(slug)}{knowledge_base.pk}/"


def documents_url(knowledge_base, slug="acme") -> str:
    return f"/api/v1/orgs/{slug}/knowledge-bases/{knowledge_base.pk}/documents/"


def document_url(document, slug="acme") -> str:
    return f"{documents_url(document.knowledge_base, slug)}{document.pk}/"


def upload_file(name: str, content: bytes, content_type: str = "text/plain"):
    return SimpleUploadedFile(name, content, content_type=content_type)
