"""The knowledge-bases endpoints: CRUD, validation, permissions, tenancy, query counts."""

import pytest

from apps.knowledge.models import Document, KnowledgeBase
from apps.organizations.models import BuiltinRole

from .factories import DocumentFactory, KnowledgeBaseFactory
from .helpers import knowledge_base_url, knowledge_bases_url

pytestmark = pytest.mark.django_db


def error_of(response) -> dict:
    return response.json()["error"]


def test_editor_creates_a_knowledge_base(editor_client, organization):
    response = editor_client.post(
        knowledge_bases_url(),
        {"name": "Handbook", "description": "How we work", "chunk_size": 800, "chunk_overlap": 100},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Handbook"
    assert body["chunk_size"] == 800
    assert body["chunk_overlap"] == 100
    assert body["document_count"] == 0
    assert body["created_by"]["email"]
    knowledge_base = KnowledgeBase.objects.get(pk=body["id"])
    assert knowledge_base.organization == organization
    assert str(knowledge_base.created_by_id) == body["created_by"]["id"]


def test_chunk_settings_default_to_the_settings_at_the_time_of_creation(editor_client, settings):
    settings.KNOWLEDGE_CHUNK_SIZE = 640
    settings.KNOWLEDGE_CHUNK_OVERLAP = 64
    body = editor_client.post(knowledge_bases_url(), {"name": "Defaults"}).json()
    assert (body["chunk_size"], body["chunk_overlap"]) == (640, 64)


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"name": ""}, "name", "may not be blank"),
        ({}, "name", "required"),
        ({"name": "x" * 201}, "name", "no more than 200 characters"),
        ({"name": "KB", "chunk_size": 99}, "chunk_size", "greater than or equal to 100"),
        ({"name": "KB", "chunk_size": 20001}, "chunk_size", "less than or equal to 20000"),
        ({"name": "KB", "chunk_size": "big"}, "chunk_size", "valid integer"),
        ({"name": "KB", "chunk_overlap": -1}, "chunk_overlap", "greater than or equal to 0"),
        (
            {"name": "KB", "chunk_size": 500, "chunk_overlap": 500},
            "chunk_overlap",
            "Must be less than the chunk size (500).",
        ),
        (
            {"name": "KB", "chunk_size": 500, "chunk_overlap": 900},
            "chunk_overlap",
            "Must be less than the chunk size (500).",
        ),
    ],
)
def test_create_refuses_bad_input(editor_client, payload, field, message):
    response = editor_client.post(knowledge_bases_url(), payload)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert message in " ".join(error["details"][field])
    assert not KnowledgeBase.objects.exists()


def test_default_overlap_is_checked_against_a_given_chunk_size(editor_client, settings):
    settings.KNOWLEDGE_CHUNK_OVERLAP = 200
    response = editor_client.post(knowledge_bases_url(), {"name": "Tiny", "chunk_size": 150})
    assert response.status_code == 400
    assert error_of(response)["details"]["chunk_overlap"] == [
        "Must be less than the chunk size (150)."
    ]


def test_names_are_unique_within_an_organization_only(editor_client, other_knowledge_base):
    assert editor_client.post(knowledge_bases_url(), {"name": "Handbook"}).status_code == 201
    duplicate = editor_client.post(knowledge_bases_url(), {"name": "Handbook"})
    assert duplicate.status_code == 400
    assert error_of(duplicate)["details"]["name"] == [
        "A knowledge base with this name already exists."
    ]
    # Another organization's knowledge base of the same name is no obstacle.
    same_as_other = editor_client.post(knowledge_bases_url(), {"name": other_knowledge_base.name})
    assert same_as_other.status_code == 201
    assert KnowledgeBase.objects.filter(name="Handbook").count() == 1


def test_list_shows_the_organizations_knowledge_bases_with_document_counts(
    viewer_client, knowledge_base, other_knowledge_base, organization
):
    DocumentFactory.create_batch(2, knowledge_base=knowledge_base)
    KnowledgeBaseFactory(organization=organization, name="Empty")
    response = viewer_client.get(knowledge_bases_url())
    assert response.status_code == 200
    counts = {kb["name"]: kb["document_count"] for kb in response.json()["results"]}
    assert counts == {"Handbook": 2, "Empty": 0}


def test_list_filters_by_name_and_orders(viewer_client, organization):
    for name, documents in (("Alpha policies", 0), ("Beta policies", 2), ("Gamma", 1)):
        DocumentFactory.create_batch(
            documents, knowledge_base=KnowledgeBaseFactory(organization=organization, name=name)
        )
    by_name = viewer_client.get(knowledge_bases_url(), {"name": "POLICIES", "ordering": "-name"})
    assert [kb["name"] for kb in by_name.json()["results"]] == ["Beta policies", "Alpha policies"]
    by_count = viewer_client.get(knowledge_bases_url(), {"ordering": "-document_count"})
    assert [kb["name"] for kb in by_count.json()["results"]] == [
        "Beta policies",
        "Gamma",
        "Alpha policies",
    ]
    unknown = viewer_client.get(knowledge_bases_url(), {"ordering": "chunk_size"})
    assert unknown.status_code == 400
    assert "ordering" in error_of(unknown)["details"]


def test_retrieve_a_knowledge_base(viewer_client, knowledge_base):
    DocumentFactory(knowledge_base=knowledge_base)
    response = viewer_client.get(knowledge_base_url(knowledge_base))
    assert response.status_code == 200
    assert response.json()["id"] == str(knowledge_base.pk)
    assert response.json()["document_count"] == 1


def test_update_changes_settings_without_rechunking(editor_client, knowledge_base):
    document = DocumentFactory(knowledge_base=knowledge_base, status=Document.Status.READY)
    response = editor_client.patch(
        knowledge_base_url(knowledge_base), {"chunk_size": 300, "description": "New"}
    )
    assert response.status_code == 200, response.json()
    assert response.json()["chunk_size"] == 300
    assert response.json()["chunk_overlap"] == 200
    assert response.json()["document_count"] == 1
    document.refresh_from_db()
    assert document.status == Document.Status.READY


def test_update_checks_overlap_against_the_stored_chunk_size(editor_client, knowledge_base):
    response = editor_client.patch(knowledge_base_url(knowledge_base), {"chunk_overlap": 1000})
    assert response.status_code == 400
    assert error_of(response)["details"]["chunk_overlap"] == [
        "Must be less than the chunk size (1000)."
    ]
    shrink = editor_client.patch(knowledge_base_url(knowledge_base), {"chunk_size": 150})
    assert shrink.status_code == 400
    assert "chunk_overlap" in error_of(shrink)["details"]
    knowledge_base.refresh_from_db()
    assert (knowledge_base.chunk_size, knowledge_base.chunk_overlap) == (1000, 200)


def test_put_replaces_and_rename_to_a_taken_name_is_refused(
    editor_client, knowledge_base, organization
):
    KnowledgeBaseFactory(organization=organization, name="Taken")
    response = editor_client.put(
        knowledge_base_url(knowledge_base), {"name": "Renamed", "description": ""}
    )
    assert response.status_code == 200
    assert response.json()["name"] == "Renamed"
    taken = editor_client.put(knowledge_base_url(knowledge_base), {"name": "Taken"})
    assert taken.status_code == 400
    assert "already exists" in error_of(taken)["details"]["name"][0]
    knowledge_base.refresh_from_db()
    assert knowledge_base.name == "Renamed"


def test_delete_removes_the_knowledge_base_its_documents_and_their_files(
    editor_client, knowledge_base, upload, stored_files, django_capture_on_commit_callbacks
):
    upload(editor_client, knowledge_base, "a.txt", b"First document.")
    upload(editor_client, knowledge_base, "b.md", b"# Second")
    assert len(stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.delete(knowledge_base_url(knowledge_base))
    assert response.status_code == 204
    assert not KnowledgeBase.objects.exists()
    assert not Document.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    ("method", "payload"),
    [("post", {"name": "New"}), ("patch", {"name": "New"}), ("put", {"name": "New"})],
)
def test_viewer_cannot_write(viewer_client, knowledge_base, method, payload):
    url = knowledge_bases_url() if method == "post" else knowledge_base_url(knowledge_base)
    response = getattr(viewer_client, method)(url, payload)
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert list(KnowledgeBase.objects.values_list("name", flat=True)) == ["Handbook"]


def test_viewer_cannot_delete_or_reingest(viewer_client, knowledge_base):
    assert viewer_client.delete(knowledge_base_url(knowledge_base)).status_code == 403
    reingest = viewer_client.post(f"{knowledge_base_url(knowledge_base)}reingest/")
    assert reingest.status_code == 403
    assert KnowledgeBase.objects.filter(pk=knowledge_base.pk).exists()


@pytest.mark.parametrize("method", ["get", "patch", "put", "delete"])
def test_another_organizations_knowledge_base_is_not_found(
    owner_client, other_knowledge_base, method
):
    response = getattr(owner_client, method)(knowledge_base_url(other_knowledge_base), {})
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    other_knowledge_base.refresh_from_db()
    assert other_knowledge_base.name == "Globex secrets"


def test_non_members_and_anonymous_callers_are_kept_out(
    client_for, member_of, other_organization, api_client, knowledge_base
):
    outsider = client_for(member_of(other_organization, BuiltinRole.OWNER).user)
    assert outsider.get(knowledge_bases_url()).status_code == 404
    assert outsider.get(knowledge_base_url(knowledge_base)).status_code == 404
    assert api_client.get(knowledge_bases_url()).status_code == 401


def test_reingest_queues_every_document_with_the_current_settings(
    editor_client, knowledge_base, upload, django_capture_on_commit_callbacks
):
    text = ("word " * 100).encode()  # 500 characters
    first = upload(editor_client, knowledge_base, "a.txt", text).json()
    upload(editor_client, knowledge_base, "b.txt", text)
    assert Document.objects.get(pk=first["id"]).chunk_count == 1
    editor_client.patch(knowledge_base_url(knowledge_base), {"chunk_size": 200, "chunk_overlap": 0})
    assert Document.objects.get(pk=first["id"]).chunk_count == 1  # not re-chunked silently

    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"{knowledge_base_url(knowledge_base)}reingest/")
    assert response.status_code == 202
    assert response.json() == {"documents_queued": 2}
    for document in Document.objects.all():
        assert document.status == Document.Status.READY
        assert document.chunk_count == 3
        assert list(document.chunks.values_list("end_offset", flat=True)) == [200, 400, 500]


@pytest.mark.parametrize("rows", [5, 50])
def test_knowledge_base_list_queries_are_constant(
    owner_client, organization, rows, django_assert_max_num_queries
):
    for knowledge_base in KnowledgeBaseFactory.create_batch(rows, organization=organization):
        DocumentFactory(knowledge_base=knowledge_base)
    with django_assert_max_num_queries(5):
        response = owner_client.get(knowledge_bases_url(), {"page_size": 200})
    assert len(response.json()["results"]) == rows
