"""Ingestion through the real Celery task, on real stored files.

Uploads go through the API and their task runs on commit (eagerly), or the task
is called on a stored document; the last test has a real worker take it from the broker.
"""

import logging

import pytest

from apps.knowledge import services
from apps.knowledge.models import Chunk, Document
from apps.knowledge.tasks import ingest_document

from .factories import DocumentFactory, KnowledgeBaseFactory
from .helpers import documents_url, upload_file

pytestmark = pytest.mark.django_db

LINES = [f"Line {n} " + "x" * 42 for n in range(1, 6)]  # five lines of 49 characters
LINES_TEXT = "\n".join(LINES) + "\n"  # 250 characters


@pytest.fixture
def small_chunks_base(organization):
    """Chunks of 100 characters overlapping by 20: small enough to check by hand."""
    return KnowledgeBaseFactory(
        organization=organization, name="Small chunks", chunk_size=100, chunk_overlap=20
    )


def ingested(client, knowledge_base, upload, name, content) -> Document:
    response = upload(client, knowledge_base, name, content)
    assert response.status_code == 201, response.json()
    return Document.objects.get(pk=response.json()["id"])


def chunks_of(document) -> list[tuple[int, int, str]]:
    return [
        (chunk.start_offset, chunk.end_offset, chunk.content)
        for chunk in Chunk.objects.filter(document=document).order_by("index")
    ]


@pytest.mark.parametrize("extension", [".txt", ".md"])
def test_text_and_markdown_are_chunked_with_exact_overlaps(
    editor_client, small_chunks_base, upload, finished_jobs, extension
):
    document = ingested(
        editor_client, small_chunks_base, upload, f"lines{extension}", LINES_TEXT.encode()
    )
    assert document.status == Document.Status.READY
    assert document.error == ""
    assert document.chunk_count == 4
    assert document.ingested_at is not None
    assert chunks_of(document) == [
        (0, 100, LINES_TEXT[0:100]),
        (80, 150, LINES_TEXT[80:150]),
        (130, 200, LINES_TEXT[130:200]),
        (180, 250, LINES_TEXT[180:250]),
    ]
    # Chunks end at line ends, and each one repeats the last 20 characters of the previous.
    assert chunks_of(document)[0][2] == f"{LINES[0]}\n{LINES[1]}\n"
    assert LINES_TEXT[80:100] == "x" * 19 + "\n"
    assert all(chunk.organization_id == document.organization_id for chunk in document.chunks.all())
    assert finished_jobs == [(document.pk, "succeeded", document.organization_id)]


def test_markdown_prefers_paragraph_breaks(editor_client, small_chunks_base, upload):
    paragraph_one = "# Refunds\n\n" + "Refunds are paid within thirty days of a request."
    text = paragraph_one + "\n\n" + "Exchanges are free within the same thirty days. " * 3
    document = ingested(editor_client, small_chunks_base, upload, "policy.md", text.encode())
    first = chunks_of(document)[0]
    assert first[2] == paragraph_one + "\n\n"
    assert chunks_of(document)[-1][1] == len(text)


def test_csv_rows_are_ingested_as_labelled_lines(editor_client, knowledge_base, upload):
    data = 'name,role\r\nAda Lovelace,analyst\r\nGrace Hopper,"admiral, programmer"\r\n'
    document = ingested(editor_client, knowledge_base, upload, "people.csv", data.encode())
    assert document.status == Document.Status.READY
    assert chunks_of(document) == [
        (
            0,
            79,
            "name: Ada Lovelace; role: analyst\nname: Grace Hopper; role: admiral, programmer",
        )
    ]


def test_csv_chunks_end_at_row_ends(editor_client, small_chunks_base, upload):
    rows = "".join(f"{n},{'x' * 36}\n" for n in range(1, 6))
    document = ingested(
        editor_client, small_chunks_base, upload, "rows.csv", f"id,text\n{rows}".encode()
    )
    lines = [f"id: {n}; text: {'x' * 36}" for n in range(1, 6)]  # 49 characters each
    text = "\n".join(lines)
    assert document.chunk_count == 4
    assert chunks_of(document) == [
        (0, 100, text[0:100]),
        (80, 150, text[80:150]),
        (130, 200, text[130:200]),
        (180, 249, text[180:249]),
    ]
    assert chunks_of(document)[0][2] == f"{lines[0]}\n{lines[1]}\n"


def test_json_is_ingested_as_paths_and_values(editor_client, knowledge_base, upload):
    data = b'{"faq": [{"q": "Opening hours?", "a": "9 to 5"}], "version": 2}'
    document = ingested(editor_client, knowledge_base, upload, "faq.json", data)
    assert document.status == Document.Status.READY
    assert [content for _start, _end, content in chunks_of(document)] == [
        "faq[0].q: Opening hours?\nfaq[0].a: 9 to 5\nversion: 2"
    ]


def test_a_utf8_byte_order_mark_is_accepted(editor_client, knowledge_base, upload):
    document = ingested(editor_client, knowledge_base, upload, "bom.txt", "\ufeffCafé".encode())
    assert chunks_of(document) == [(0, 4, "Café")]


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.txt", b"", "The file is empty."),
        ("blank.md", b"  \n\n\t ", "The file is empty."),
        (
            "binary.txt",
            b"\xff\xfe\xfa",
            "The file is not valid UTF-8 text (undecodable byte at position 0).",
        ),
        (
            "latin1.csv",
            b"name\ncaf\xe9\n",
            "The file is not valid UTF-8 text (undecodable byte at position 8).",
        ),
        (
            "broken.json",
            b'{"a": 1,\n "b": }',
            "The file is not valid JSON: Expecting value at line 2, column 7.",
        ),
        (
            "broken.csv",
            b'a,b\n"open,1\n',
            "The CSV file is malformed at line 2: unexpected end of data.",
        ),
        ("header.csv", b"a,b\n", "The CSV file has a header row but no data rows."),
        (
            "nul.txt",
            b"MZ\x00\x00binary",
            "The file contains NUL characters; it looks binary, not text.",
        ),
    ],
)
def test_unreadable_files_fail_with_a_reason(
    editor_client, knowledge_base, upload, finished_jobs, name, content, reason
):
    document = ingested(editor_client, knowledge_base, upload, name, content)
    assert document.status == Document.Status.FAILED
    assert document.error == reason
    assert document.chunk_count == 0
    assert document.ingested_at is None
    assert not Chunk.objects.filter(document=document).exists()
    assert finished_jobs == [(document.pk, "failed", document.organization_id)]
    detail = editor_client.get(f"{documents_url(knowledge_base)}{document.pk}/").json()
    assert (detail["status"], detail["error"]) == ("failed", reason)


def test_the_task_checks_the_size_limit_again(
    editor_client, knowledge_base, django_capture_on_commit_callbacks, settings, finished_jobs
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = editor_client.post(
            documents_url(knowledge_base),
            {"file": upload_file("notes.txt", b"x" * 50)},
            format="multipart",
        )
    assert response.status_code == 201
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 40  # lowered after the upload was accepted
    for callback in callbacks:
        callback()
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert document.error == "The file is 50 bytes; the limit is 40 bytes."
    assert finished_jobs == [(document.pk, "failed", document.organization_id)]


def test_the_task_checks_the_size_of_the_stored_file_not_of_the_upload(knowledge_base, settings):
    document = DocumentFactory(knowledge_base=knowledge_base, name="notes.txt", size_bytes=10)
    with open(document.file.path, "wb") as replaced:
        replaced.write(b"y" * 2000)
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1000
    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.error == "The file is 2,000 bytes; the limit is 1,000 bytes."


def test_the_task_checks_the_allowed_types_again(
    editor_client, knowledge_base, django_capture_on_commit_callbacks, settings
):
    with django_capture_on_commit_callbacks() as callbacks:
        response = editor_client.post(
            documents_url(knowledge_base),
            {"file": upload_file("data.csv", b"a\n1\n")},
            format="multipart",
        )
    settings.KNOWLEDGE_ALLOWED_EXTENSIONS = [".txt", ".md"]
    for callback in callbacks:
        callback()
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert document.error == "Files of type .csv are not accepted. Allowed types: .txt, .md."


def test_a_missing_stored_file_fails_the_document(knowledge_base, finished_jobs):
    document = DocumentFactory(knowledge_base=knowledge_base)
    document.file.storage.delete(document.file.name)
    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == "The stored file is missing; upload the document again."
    assert finished_jobs == [(document.pk, "failed", document.organization_id)]


def test_an_unexpected_error_fails_the_document_and_is_logged(
    knowledge_base, monkeypatch, caplog, finished_jobs
):
    document = DocumentFactory(knowledge_base=knowledge_base)

    def explode(data, *, extension):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "extract_text", explode)
    with caplog.at_level(logging.ERROR, logger="apps.knowledge.services"):
        ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert document.error == services.INTERNAL_ERROR_REASON
    assert "disk on fire" not in document.error
    assert any("disk on fire" in record.exc_text for record in caplog.records if record.exc_text)
    assert finished_jobs == [(document.pk, "failed", document.organization_id)]


def test_an_overlap_that_would_multiply_the_text_fails_the_document(organization):
    knowledge_base = KnowledgeBaseFactory(
        organization=organization, chunk_size=100, chunk_overlap=99
    )
    document = DocumentFactory(knowledge_base=knowledge_base, content=b"z" * 5000)
    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.status == Document.Status.FAILED
    assert "would be stored more than 5 times over" in document.error
    assert not Chunk.objects.filter(document=document).exists()


def test_ingesting_again_replaces_the_chunks(knowledge_base, finished_jobs):
    document = DocumentFactory(knowledge_base=knowledge_base, content=b"word " * 300)
    ingest_document(str(document.pk))
    first_ids = set(Chunk.objects.filter(document=document).values_list("pk", flat=True))
    assert len(first_ids) == 2

    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.chunk_count == 2
    assert Chunk.objects.filter(document=document).count() == 2
    assert first_ids.isdisjoint(
        Chunk.objects.filter(document=document).values_list("pk", flat=True)
    )

    knowledge_base.chunk_size = 500
    knowledge_base.chunk_overlap = 0
    knowledge_base.save()
    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert document.chunk_count == 3
    assert [end for _start, end, _content in chunks_of(document)] == [500, 1000, 1500]
    assert [outcome for _id, outcome, _org in finished_jobs] == ["succeeded"] * 3


def test_a_failed_reingestion_removes_the_old_chunks(knowledge_base, settings):
    document = DocumentFactory(knowledge_base=knowledge_base)
    ingest_document(str(document.pk))
    assert Chunk.objects.filter(document=document).count() == 1
    settings.KNOWLEDGE_MAX_UPLOAD_BYTES = 1
    ingest_document(str(document.pk))
    document.refresh_from_db()
    assert (document.status, document.chunk_count) == (Document.Status.FAILED, 0)
    assert not Chunk.objects.filter(document=document).exists()


def test_a_deleted_document_is_skipped_without_a_signal(knowledge_base, finished_jobs):
    document = DocumentFactory(knowledge_base=knowledge_base)
    document_id = str(document.pk)
    document.delete()
    ingest_document(document_id)
    assert finished_jobs == []


def test_a_document_deleted_during_ingestion_is_left_alone(
    knowledge_base, monkeypatch, finished_jobs
):
    document = DocumentFactory(knowledge_base=knowledge_base)
    real_extract = services.extract_text

    def delete_midway(data, *, extension):
        Document.objects.filter(pk=document.pk).delete()
        return real_extract(data, extension=extension)

    monkeypatch.setattr(services, "extract_text", delete_midway)
    services.document_ingest(document=document)
    assert not Chunk.objects.exists()
    assert finished_jobs == []


@pytest.mark.postgres
def test_ingestion_is_exercised_on_postgres_text_columns(editor_client, knowledge_base, upload):
    """Unicode of every width round-trips through PostgreSQL text columns."""
    text = "Zürich 日本 🙂 " * 10
    document = ingested(editor_client, knowledge_base, upload, "unicode.txt", text.encode())
    assert document.status == Document.Status.READY
    assert chunks_of(document)[0][2] == text


def test_ingestion_runs_on_a_real_worker(
    celery_worker, organization, member_of, client_for, wait_for, finished_jobs
):
    """The upload's task travels through the broker to a real worker thread."""
    client = client_for(member_of(organization, "editor").user)
    knowledge_base = KnowledgeBaseFactory(
        organization=organization, chunk_size=100, chunk_overlap=20
    )
    response = client.post(
        documents_url(knowledge_base),
        {"file": upload_file("lines.txt", LINES_TEXT.encode())},
        format="multipart",
    )
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    wait_for(
        lambda: Document.objects.filter(pk=document.pk, status=Document.Status.READY).exists(),
        message="the document to be ingested by the worker",
    )
    document.refresh_from_db()
    assert document.chunk_count == 4
    assert [end for _start, end, _content in chunks_of(document)] == [100, 150, 200, 250]
    assert finished_jobs == [(document.pk, "succeeded", organization.pk)]


def test_an_upload_that_cannot_be_queued_fails_instead_of_staying_pending(
    editor_client, knowledge_base, upload, finished_jobs, monkeypatch
):
    from kombu.exceptions import OperationalError

    from apps.knowledge import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.ingest_document, "delay", broker_down)
    response = upload(editor_client, knowledge_base, "notes.txt", b"Some text to ingest.")
    assert response.status_code == 201
    document = Document.objects.get(pk=response.json()["id"])
    assert document.status == Document.Status.FAILED
    assert "could not be queued" in document.error
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]
