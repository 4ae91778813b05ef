"""The documents endpoints: upload and its refusals, reading, renaming, deleting, chunks."""

import pytest
from django.db import transaction

from apps.knowledge import services
from apps.knowledge.models import Chunk, Document
from apps.organizations import services as organization_services
from apps.organizations.models import BuiltinRole

from .factories import DocumentFactory, KnowledgeBaseFactory
from .helpers import document_url, documents_url, upload_file

pytestmark = pytest.mark.django_db

ALLOWED = "Allowed types: .txt, .md, .csv, .json."


def error_of(response) -> dict:
    return response.json()["error"]


def test_upload_stores_the_file_and_answers_with_a_pending_document(
    editor_client, knowledge_base, upload, stored_files
):
    response = upload(editor_client, knowledge_base, "Notes.TXT", b"Hello world.", ingest=False)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "pending"
    assert body["name"] == "Notes.TXT"
    assert body["size_bytes"] == 12
    assert body["content_type"] == "text/plain"
    assert body["knowledge_base"] == str(knowledge_base.pk)
    assert body["chunk_count"] == 0
    assert body["error"] == ""
    document = Document.objects.get(pk=body["id"])
    assert document.organization == knowledge_base.organization
    # Stored under a name of ours, keeping only the (lower-cased) extension.
    expected = f"knowledge/{knowledge_base.organization_id}/{knowledge_base.pk}/{document.pk}.txt"
    assert document.file.name == expected
    assert stored_files() == [expected]
    with document.file.open("rb") as stored:
        assert stored.read() == b"Hello world."


def test_upload_queues_the_ingestion_on_commit(editor_client, knowledge_base, upload):
    body = upload(editor_client, knowledge_base, "notes.txt", b"Hello world.").json()
    detail = editor_client.get(document_url(Document.objects.get(pk=body["id"]))).json()
    assert detail["status"] == "ready"
    assert detail["chunk_count"] == 1
    assert detail["ingested_at"] is not None


def test_upload_without_a_file_is_refused(editor_client, knowledge_base, stored_files):
    response = editor_client.post(documents_url(knowledge_base), {}, format="multipart")
    assert response.status_code == 400
    assert error_of(response)["details"]["file"] == ["No file was submitted."]
    as_json = editor_client.post(documents_url(knowledge_base), {"file": "text"}, format="json")
    assert as_json.status_code == 400
    assert "not a file" in error_of(as_json)["details"]["file"][0]
    assert not Document.objects.exists()
    assert stored_files() == []


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("report.pdf", f"Files of type .pdf are not accepted. {ALLOWED}"),
        ("setup.EXE", f"Files of type .exe are not accepted. {ALLOWED}"),
        ("README", f"The file name has no extension. {ALLOWED}"),
        ("archive.tar.gz", f"Files of type .gz are not accepted. {ALLOWED}"),
        ("notes.ÜBER", f"Files of type .über are not accepted. {ALLOWED}"),
    ],
)
def test_upload_of_a_type_not_allowed_is_refused(
    editor_client, knowledge_base, upload, stored_files, name, message
):
    response = upload(editor_client, knowledge_base, name, b"MZ\x90\x00")
    assert response.status_code == 400
    assert error_of(response)["code"] == "validation_error"
    assert error_of(response)["details"]["file"] == [message]
    assert not Document.objects.exists()
    assert stored_files() == []


def test_allowed_types_are_read_from_the_settings_at_upload(
    editor_client, knowledge_base, upload, settings
):
    settings.KNOWLEDGE_ALLOWED_EXTENSIONS = ["txt", ".MD"]
    refused = upload(editor_client, knowledge_base, "data.csv", b"a,b\n1,2\n")
    assert refused.status_code == 400
    assert error_of(refused)["details"]["file"] == [
        "Files of type .csv are not accepted. Allowed types: .txt, .md."
    ]
    assert upload(editor_client, knowledge_base, "notes.md", b"# Notes").status_code == 201


def test_upload_over_the_size_limit_is_refused(
    editor_client, knowledge_base, upload, stored_files, settings
):
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1000
    response = upload(editor_client, knowledge_base, "big.txt", b"x" * 1001)
    assert response.status_code == 400
    assert error_of(response)["details"]["file"] == [
        "The file is 1,001 bytes; the limit is 1,000 bytes."
    ]
    assert not Document.objects.exists()
    assert stored_files() == []
    assert upload(editor_client, knowledge_base, "fits.txt", b"x" * 1000).status_code == 201


def test_an_empty_file_is_accepted_and_fails_at_ingestion(editor_client, knowledge_base, upload):
    response = upload(editor_client, knowledge_base, "empty.txt", b"")
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert document.error == "The file is empty."


def test_a_long_file_name_is_trimmed_keeping_its_extension(editor_client, knowledge_base, upload):
    response = upload(editor_client, knowledge_base, "n" * 300 + ".md", b"# Hi", ingest=False)
    assert response.status_code == 201
    name = response.json()["name"]
    assert len(name) == 255
    assert name == "n" * 252 + ".md"


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("C:\\Users\\ada\\notes.txt", "notes.txt"),
        ("../../etc/passwd.md", "passwd.md"),
        ("  my\tnotes \n final.txt ", "my notes final.txt"),
        ("invoice\u202etxt.exe", "invoicetxt.exe"),
        ("x" * 300, "x" * 255),
    ],
)
def test_client_file_names_are_cleaned(raw, cleaned):
    assert services.clean_document_name(raw) == cleaned


def test_viewer_cannot_upload(viewer_client, knowledge_base, upload, stored_files):
    response = upload(viewer_client, knowledge_base, "notes.txt", b"Hello")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not Document.objects.exists()
    assert stored_files() == []


def test_viewer_reads_documents_and_chunks_but_cannot_rename_or_delete(
    viewer_client, editor_client, knowledge_base, upload
):
    document_id = upload(editor_client, knowledge_base, "notes.txt", b"Hello").json()["id"]
    document = Document.objects.get(pk=document_id)
    assert viewer_client.get(documents_url(knowledge_base)).status_code == 200
    assert viewer_client.get(document_url(document)).status_code == 200
    assert viewer_client.get(f"{document_url(document)}chunks/").status_code == 200
    assert viewer_client.patch(document_url(document), {"name": "x.txt"}).status_code == 403
    assert viewer_client.delete(document_url(document)).status_code == 403
    document.refresh_from_db()
    assert document.name == "notes.txt"


def test_list_filters_by_status_and_name_and_orders(viewer_client, knowledge_base):
    DocumentFactory(knowledge_base=knowledge_base, name="b-guide.txt", status="ready")
    DocumentFactory(knowledge_base=knowledge_base, name="a-guide.md", status="ready")
    DocumentFactory(knowledge_base=knowledge_base, name="c-notes.txt", status="failed")
    DocumentFactory(knowledge_base=KnowledgeBaseFactory(organization=knowledge_base.organization))
    ready = viewer_client.get(
        documents_url(knowledge_base), {"status": "ready", "ordering": "name"}
    )
    assert [d["name"] for d in ready.json()["results"]] == ["a-guide.md", "b-guide.txt"]
    guides = viewer_client.get(
        documents_url(knowledge_base), {"name": "GUIDE", "ordering": "-name"}
    )
    assert [d["name"] for d in guides.json()["results"]] == ["b-guide.txt", "a-guide.md"]
    assert viewer_client.get(documents_url(knowledge_base)).json()["count"] == 3
    bad = viewer_client.get(documents_url(knowledge_base), {"status": "done"})
    assert bad.status_code == 400
    assert "status" in error_of(bad)["details"]


def test_rename_keeps_the_extension(editor_client, knowledge_base):
    document = DocumentFactory(knowledge_base=knowledge_base, name="draft.txt")
    renamed = editor_client.patch(document_url(document), {"name": "  Final notes.TXT "})
    assert renamed.status_code == 200, renamed.json()
    assert renamed.json()["name"] == "Final notes.TXT"
    other_type = editor_client.patch(document_url(document), {"name": "final.md"})
    assert other_type.status_code == 400
    assert error_of(other_type)["details"]["name"] == [
        "The name must keep the file's extension (.txt)."
    ]
    blank = editor_client.patch(document_url(document), {"name": ""})
    assert blank.status_code == 400
    assert "name" in error_of(blank)["details"]
    nothing = editor_client.patch(document_url(document), {})
    assert nothing.status_code == 200
    assert nothing.json()["name"] == "Final notes.TXT"
    document.refresh_from_db()
    assert document.name == "Final notes.TXT"


def test_put_is_not_offered(editor_client, knowledge_base):
    document = DocumentFactory(knowledge_base=knowledge_base)
    assert editor_client.put(document_url(document), {"name": "x.txt"}).status_code == 405


def test_delete_removes_the_document_its_chunks_and_its_file(
    editor_client, knowledge_base, upload, stored_files, django_capture_on_commit_callbacks
):
    document_id = upload(editor_client, knowledge_base, "notes.txt", b"Hello").json()["id"]
    keep_id = upload(editor_client, knowledge_base, "keep.txt", b"Stay").json()["id"]
    document = Document.objects.get(pk=document_id)
    assert Chunk.objects.filter(document=document).count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.delete(document_url(document))
    assert response.status_code == 204
    assert not Document.objects.filter(pk=document_id).exists()
    assert not Chunk.objects.filter(document_id=document_id).exists()
    assert stored_files() == [Document.objects.get(pk=keep_id).file.name]


def test_the_file_stays_if_the_deletion_is_rolled_back(
    knowledge_base, stored_files, django_capture_on_commit_callbacks
):
    document = DocumentFactory(knowledge_base=knowledge_base)
    document_id, file_name = document.pk, document.file.name

    def delete_then_fail():
        with transaction.atomic():
            services.document_delete(document=document)
            raise RuntimeError("roll back")

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(RuntimeError),
    ):
        delete_then_fail()
    assert callbacks == []
    assert Document.objects.filter(pk=document_id).exists()
    assert stored_files() == [file_name]


def test_deleting_an_organization_deletes_its_documents_files(
    knowledge_base, stored_files, django_capture_on_commit_callbacks
):
    DocumentFactory.create_batch(2, knowledge_base=knowledge_base)
    assert len(stored_files()) == 2
    with django_capture_on_commit_callbacks(execute=True):
        organization_services.organization_delete(organization=knowledge_base.organization)
    assert stored_files() == []


def test_chunks_are_listed_in_order_and_paginated(editor_client, knowledge_base, upload):
    knowledge_base.chunk_size = 100
    knowledge_base.chunk_overlap = 10
    knowledge_base.save()
    text = "".join(f"Sentence {n:02d} of the text.\n" for n in range(30))  # 26 characters each
    document_id = upload(editor_client, knowledge_base, "long.txt", text.encode()).json()["id"]
    document = Document.objects.get(pk=document_id)
    url = f"{document_url(document)}chunks/"

    first_page = editor_client.get(url, {"page_size": 3})
    assert first_page.status_code == 200
    body = first_page.json()
    assert body["count"] == document.chunk_count > 3
    assert [chunk["index"] for chunk in body["results"]] == [0, 1, 2]
    first = body["results"][0]
    assert set(first) == {"id", "index", "content", "start_offset", "end_offset", "created_at"}
    assert first["content"] == text[first["start_offset"] : first["end_offset"]]
    everything = editor_client.get(url, {"page_size": 200}).json()["results"]
    assert everything[-1]["end_offset"] == len(text)


def test_another_organizations_knowledge_base_is_not_found_for_documents(
    owner_client, other_knowledge_base, upload, stored_files
):
    document = DocumentFactory(knowledge_base=other_knowledge_base)
    base = documents_url(other_knowledge_base)
    assert owner_client.get(base).status_code == 404
    assert owner_client.get(document_url(document)).status_code == 404
    assert owner_client.get(f"{document_url(document)}chunks/").status_code == 404
    assert owner_client.patch(document_url(document), {"name": "x.txt"}).status_code == 404
    assert owner_client.delete(document_url(document)).status_code == 404
    refused = upload(owner_client, other_knowledge_base, "notes.txt", b"Hello")
    assert refused.status_code == 404
    assert error_of(refused)["code"] == "not_found"
    assert Document.objects.count() == 1
    assert stored_files() == [document.file.name]


def test_a_document_is_found_only_under_its_own_knowledge_base(
    owner_client, knowledge_base, organization
):
    document = DocumentFactory(knowledge_base=knowledge_base)
    elsewhere = KnowledgeBaseFactory(organization=organization)
    response = owner_client.get(f"{documents_url(elsewhere)}{document.pk}/")
    assert response.status_code == 404


def test_a_missing_knowledge_base_is_not_found(owner_client, knowledge_base):
    missing = "00000000-0000-0000-0000-000000000000"
    response = owner_client.get(f"/api/v1/orgs/acme/knowledge-bases/{missing}/documents/")
    assert response.status_code == 404
    not_an_id = owner_client.get("/api/v1/orgs/acme/knowledge-bases/not-a-uuid/documents/")
    assert not_an_id.status_code == 404


def test_non_members_are_kept_out(client_for, member_of, other_organization, knowledge_base):
    outsider = client_for(member_of(other_organization, BuiltinRole.OWNER).user)
    response = outsider.post(
        documents_url(knowledge_base),
        {"file": upload_file("notes.txt", b"Hello")},
        format="multipart",
    )
    assert response.status_code == 404
    assert not Document.objects.exists()


@pytest.mark.parametrize("rows", [5, 50])
def test_document_list_queries_are_constant(
    owner_client, owner, knowledge_base, rows, django_assert_max_num_queries
):
    DocumentFactory.create_batch(rows, knowledge_base=knowledge_base, created_by=owner.user)
    with django_assert_max_num_queries(5):
        response = owner_client.get(documents_url(knowledge_base), {"page_size": 200})
    assert len(response.json()["results"]) == rows
    assert response.json()["results"][0]["created_by"]["id"] == str(owner.user.pk)
