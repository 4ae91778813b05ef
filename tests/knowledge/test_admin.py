"""The admin shows knowledge bases, documents and chunks; documents are not uploaded there."""

import pytest

from apps.accounts.models import User
from apps.knowledge.models import Chunk, Document
from apps.knowledge.tasks import ingest_document

from .factories import DocumentFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("root@example.com", "pw-for-tests-only"))
    return client


def test_admin_pages_load(staff_client, knowledge_base):
    document = DocumentFactory(knowledge_base=knowledge_base)
    ingest_document(str(document.pk))
    chunk = Chunk.objects.get(document=document)
    for url in (
        "/admin/knowledge/knowledgebase/",
        "/admin/knowledge/knowledgebase/?q=Hand",
        f"/admin/knowledge/knowledgebase/{knowledge_base.pk}/change/",
        "/admin/knowledge/document/",
        "/admin/knowledge/document/?status__exact=ready",
        f"/admin/knowledge/document/{document.pk}/change/",
        "/admin/knowledge/chunk/",
        f"/admin/knowledge/chunk/{chunk.pk}/change/",
    ):
        assert staff_client.get(url).status_code == 200, url


def test_documents_and_chunks_cannot_be_added_in_the_admin(staff_client):
    assert staff_client.get("/admin/knowledge/document/add/").status_code == 403
    assert staff_client.get("/admin/knowledge/chunk/add/").status_code == 403


def test_admin_action_ingests_documents_again(
    staff_client, knowledge_base, django_capture_on_commit_callbacks
):
    document = DocumentFactory(knowledge_base=knowledge_base, status=Document.Status.FAILED)
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            "/admin/knowledge/document/",
            {"action": "reingest", "_selected_action": [str(document.pk)]},
        )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == Document.Status.READY
    assert document.chunk_count == 1
