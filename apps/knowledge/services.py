"""Business actions on knowledge bases, their documents and the ingestion of those.

An upload is checked (type, size), stored through Django's storage API and
queued; `document_ingest` then reads it back, extracts its text, splits it into
chunks and records the outcome on the document. Every limit is read from the
settings when it is applied, so a changed setting takes effect at once.
"""

import logging
import unicodedata

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from apps.accounts.models import User
from apps.core.signals import send_job_finished
from apps.organizations.models import Organization

from .chunking import TextChunk, iter_chunks
from .extraction import ExtractionError, extract_text
from .models import Chunk, Document, KnowledgeBase, stored_extension

logger = logging.getLogger(__name__)

DOCUMENT_NAME_MAX_LENGTH = 255
# A failure we did not foresee is logged with its traceback; the user gets this.
INTERNAL_ERROR_REASON = (
    "The document could not be processed because of an internal error. It has been logged."
)
# Overlapping chunks store some text twice; a knowledge base whose overlap is
# close to its chunk size would store a document many times over. Past this
# factor of the text's length (plus one chunk), ingestion is refused.
MAX_STORED_TEXT_FACTOR = 5


# --- Rules read from the settings -------------------------------------------


def allowed_extensions() -> list[str]:
    """The file types uploads may have, from KNOWLEDGE_ALLOWED_EXTENSIONS (".txt", ...)."""
    extensions = []
    for raw in settings.KNOWLEDGE_ALLOWED_EXTENSIONS:
        extension = raw.strip().lower()
        if extension and not extension.startswith("."):
            extension = f".{extension}"
        if extension and extension not in extensions:
            extensions.append(extension)
    return extensions


def _extension_of(name: str) -> str:
    """The extension of a client's file name as the client wrote it, lower-cased (".pdf")."""
    _stem, dot, suffix = name.rpartition(".")
    return f".{suffix.lower()}" if dot and suffix else ""


def _type_error(extension: str) -> str | None:
    allowed = allowed_extensions()
    if extension in allowed:
        return None
    allowed_text = ", ".join(allowed) or "none"
    if not extension:
        return f"The file name has no extension. Allowed types: {allowed_text}."
    return f"Files of type {extension} are not accepted. Allowed types: {allowed_text}."


def _size_error(size: int) -> str | None:
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    if size <= limit:
        return None
    return f"The file is {size:,} bytes; the limit is {limit:,} bytes."


def clean_document_name(raw: str) -> str:
    """The client's file name made safe to show: no path, no control characters, <= 255.

    A name that is too long loses the end of its stem, never its extension.
    """
    name = raw.replace("\\", "/").rsplit("/", 1)[-1]
    # Control and format characters (including right-to-left overrides that
    # disguise "txt.exe" as "exe.txt") have no place in a displayed name.
    name = "".join(
        ch for ch in name if ch.isspace() or unicodedata.category(ch) not in {"Cc", "Cf", "Cs"}
    )
    name = " ".join(name.split())  # tabs, newlines and runs of blanks become one space
    if len(name) > DOCUMENT_NAME_MAX_LENGTH:
        stem, dot, suffix = name.rpartition(".")
        if dot and stem and len(suffix) < 20:
            name = f"{stem[: DOCUMENT_NAME_MAX_LENGTH - len(suffix) - 1].rstrip()}.{suffix}"
        else:
            name = name[:DOCUMENT_NAME_MAX_LENGTH]
    return name


# --- Knowledge bases --------------------------------------------------------


def _validate_knowledge_base(knowledge_base: KnowledgeBase) -> None:
    knowledge_base.full_clean(
        exclude=["organization", "created_by"], validate_unique=False, validate_constraints=False
    )
    if knowledge_base.chunk_overlap >= knowledge_base.chunk_size:
        raise ValidationError(
            {"chunk_overlap": [f"Must be less than the chunk size ({knowledge_base.chunk_size})."]}
        )
    taken = KnowledgeBase.objects.filter(
        organization_id=knowledge_base.organization_id, name=knowledge_base.name
    ).exclude(pk=knowledge_base.pk)
    if taken.exists():
        raise ValidationError({"name": ["A knowledge base with this name already exists."]})


def _save_knowledge_base(knowledge_base: KnowledgeBase, **kwargs) -> None:
    try:
        # A savepoint, so a concurrent duplicate leaves the outer transaction usable.
        with transaction.atomic():
            knowledge_base.save(**kwargs)
    except IntegrityError as exc:
        raise ValidationError(
            {"name": ["A knowledge base with this name already exists."]}
        ) from exc


@transaction.atomic
def knowledge_base_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    description: str = "",
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
) -> KnowledgeBase:
    """Create a knowledge base; chunk settings default to KNOWLEDGE_CHUNK_SIZE/_OVERLAP."""
    knowledge_base = KnowledgeBase(
        organization=organization,
        created_by=created_by,
        name=name,
        description=description,
        chunk_size=settings.KNOWLEDGE_CHUNK_SIZE if chunk_size is None else chunk_size,
        chunk_overlap=settings.KNOWLEDGE_CHUNK_OVERLAP if chunk_overlap is None else chunk_overlap,
    )
    _validate_knowledge_base(knowledge_base)
    _save_knowledge_base(knowledge_base)
    return knowledge_base


@transaction.atomic
def knowledge_base_update(
    *,
    knowledge_base: KnowledgeBase,
    name: str | None = None,
    description: str | None = None,
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
) -> KnowledgeBase:
    """Change a knowledge base.

    New chunk settings apply to documents ingested from now on; existing
    chunks stay as they are until `knowledge_base_reingest`.
    """
    for field, value in (
        ("name", name),
        ("description", description),
        ("chunk_size", chunk_size),
        ("chunk_overlap", chunk_overlap),
    ):
        if value is not None:
            setattr(knowledge_base, field, value)
    _validate_knowledge_base(knowledge_base)
    _save_knowledge_base(knowledge_base)
    return knowledge_base


@transaction.atomic
def knowledge_base_delete(*, knowledge_base: KnowledgeBase) -> None:
    """Delete a knowledge base with its documents and chunks; stored files go after commit."""
    knowledge_base.delete()


@transaction.atomic
def knowledge_base_reingest(*, knowledge_base: KnowledgeBase) -> int:
    """Queue every document of a knowledge base for ingestion again; returns how many."""
    documents = list(Document.objects.select_for_update().filter(knowledge_base=knowledge_base))
    for document in documents:
        document_reingest(document=document)
    return len(documents)


# --- Documents --------------------------------------------------------------


QUEUE_UNAVAILABLE = (
    "The document could not be queued for ingestion (the task broker is unavailable); "
    "re-ingest it or upload it again."
)


def _enqueue_ingestion(document: Document) -> None:
    from .tasks import ingest_document  # the task module imports this one

    document_id = str(document.pk)

    def enqueue():
        try:
            ingest_document.delay(document_id)
        except BrokerError:
            logger.exception("Could not queue the ingestion of document %s", document_id)
            # Without this, a document nobody will ever ingest would stay pending forever.
            queued = Document.objects.filter(pk=document_id).first()
            if queued is not None and _store_failure(queued, QUEUE_UNAVAILABLE):
                send_job_finished(job=queued, outcome="failed")

    transaction.on_commit(enqueue)


@transaction.atomic
def document_upload(
    *, knowledge_base: KnowledgeBase, uploaded_file: UploadedFile, created_by: User | None
) -> Document:
    """Store an uploaded file as a pending document of `knowledge_base` and queue its ingestion.

    A file of a type outside KNOWLEDGE_ALLOWED_EXTENSIONS or larger than
    KNOWLEDGE_MAX_UPLOAD_BYTES is refused, and nothing is stored.
    """
    name = clean_document_name(uploaded_file.name or "")
    problem = _type_error(_extension_of(name)) or _size_error(uploaded_file.size)
    if problem:
        raise ValidationError({"file": [problem]})

    document = Document(
        organization_id=knowledge_base.organization_id,
        knowledge_base=knowledge_base,
        created_by=created_by,
        name=name,
        content_type=(uploaded_file.content_type or "")[:100],
        size_bytes=uploaded_file.size,
        status=Document.Status.PENDING,
    )
    document.file.save(name, uploaded_file, save=False)
    try:
        document.save()
    except BaseException:
        # The row was not written, so nothing else will ever remove the stored file.
        document.file.storage.delete(document.file.name)
        raise
    _enqueue_ingestion(document)
    return document


@transaction.atomic
def document_update(*, document: Document, name: str | None = None) -> Document:
    """Rename a document; the new name keeps the file's extension (its type)."""
    if name is not None:
        cleaned = clean_document_name(name)
        if not cleaned:
            raise ValidationError({"name": ["This field may not be blank."]})
        extension = stored_extension(document.file.name)
        if _extension_of(cleaned) != extension:
            raise ValidationError(
                {"name": [f"The name must keep the file's extension ({extension})."]}
            )
        document.name = cleaned
    # Only the name: an ingestion running meanwhile owns the other fields.
    document.save(update_fields=["name", "updated_at"])
    return document


@transaction.atomic
def document_delete(*, document: Document) -> None:
    """Delete a document and its chunks; its stored file is deleted after commit."""
    document.delete()


@transaction.atomic
def document_reingest(*, document: Document) -> Document:
    """Set a document back to pending and queue its ingestion (which replaces its chunks)."""
    document.status = Document.Status.PENDING
    document.save(update_fields=["status", "updated_at"])
    _enqueue_ingestion(document)
    return document


# --- Ingestion --------------------------------------------------------------


def document_ingest(*, document: Document) -> Document:
    """Read a document's file, extract its text, chunk it and record the outcome.

    The document goes to processing, then to ready (its chunks replaced in one
    transaction, so running this again is harmless) or to failed with a reason
    the user can read; an unexpected error is logged and fails it too, so a
    document is never left processing. `job_finished` is sent once, after the
    outcome is saved. Not atomic as a whole: "processing" must be visible while
    the work runs, and a failure must be saved even though the work went wrong.
    A document deleted meanwhile is left alone, and no signal is sent.
    """
    started = Document.objects.filter(pk=document.pk).update(
        status=Document.Status.PROCESSING, updated_at=timezone.now()
    )
    if not started:
        return document
    document.status = Document.Status.PROCESSING

    try:
        chunks = _extract_chunks(document)
        stored = _store_chunks(document, chunks)
    except ExtractionError as exc:
        reason = exc.message
    except Exception:
        logger.exception("Ingestion of document %s failed unexpectedly.", document.pk)
        reason = INTERNAL_ERROR_REASON
    else:
        if stored:
            send_job_finished(job=document, outcome="succeeded")
        return document

    if _store_failure(document, reason):
        send_job_finished(job=document, outcome="failed")
    return document


def _extract_chunks(document: Document) -> list[TextChunk]:
    # The type and size were checked at upload, but the settings may have
    # changed since, or the stored file been replaced: check them again.
    extension = stored_extension(document.file.name)
    problem = _type_error(extension)
    if problem:
        raise ExtractionError(problem)
    try:
        size = document.file.size
    except FileNotFoundError as exc:
        raise ExtractionError("The stored file is missing; upload the document again.") from exc
    problem = _size_error(size)
    if problem:
        raise ExtractionError(problem)
    limit = settings.KNOWLEDGE_MAX_UPLOAD_BYTES
    with document.file.open("rb") as stored_file:
        data = stored_file.read(limit + 1)
    problem = _size_error(len(data))
    if problem:
        raise ExtractionError(problem)

    text = extract_text(data, extension=extension)
    knowledge_base = document.knowledge_base
    return _chunk_text(text, size=knowledge_base.chunk_size, overlap=knowledge_base.chunk_overlap)


def _chunk_text(text: str, *, size: int, overlap: int) -> list[TextChunk]:
    budget = MAX_STORED_TEXT_FACTOR * len(text) + size
    chunks, stored = [], 0
    for chunk in iter_chunks(text, size=size, overlap=overlap):
        stored += len(chunk.content)
        if stored > budget:
            raise ExtractionError(
                f"With a chunk size of {size} and an overlap of {overlap}, this document would "
                f"be stored more than {MAX_STORED_TEXT_FACTOR} times over. "
                "Lower the knowledge base's chunk overlap and ingest it again."
            )
        chunks.append(chunk)
    return chunks


def _lock(document: Document) -> bool:
    """Lock the document's row until the end of the transaction; False if it is gone."""
    return Document.objects.select_for_update().filter(pk=document.pk).values("pk").exists()


@transaction.atomic
def _store_chunks(document: Document, chunks: list[TextChunk]) -> bool:
    # The row lock serialises two runs of the same ingestion (a redelivered task):
    # the second replaces the chunks of the first instead of colliding with them.
    if not _lock(document):
        return False
    Chunk.objects.filter(document=document).delete()
    Chunk.objects.bulk_create(
        [
            Chunk(
                organization_id=document.organization_id,
                document=document,
                index=index,
                content=chunk.content,
                start_offset=chunk.start_offset,
                end_offset=chunk.end_offset,
            )
            for index, chunk in enumerate(chunks)
        ],
        batch_size=500,
    )
    document.status = Document.Status.READY
    document.error = ""
    document.chunk_count = len(chunks)
    document.ingested_at = timezone.now()
    document.save(update_fields=["status", "error", "chunk_count", "ingested_at", "updated_at"])
    return True


@transaction.atomic
def _store_failure(document: Document, reason: str) -> bool:
    if not _lock(document):
        return False
    Chunk.objects.filter(document=document).delete()
    document.status = Document.Status.FAILED
    document.error = reason
    document.chunk_count = 0
    document.ingested_at = None
    document.save(update_fields=["status", "error", "chunk_count", "ingested_at", "updated_at"])
    return True
