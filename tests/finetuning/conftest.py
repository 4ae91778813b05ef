import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.core.signals import job_finished
from apps.finetuning.models import FineTuningJob

JOBS_URL = "/api/v1/orgs/{slug}/finetuning-jobs/"


def jobs_url(slug="acme"):
    return JOBS_URL.format(slug=slug)


def job_url(job, slug="acme"):
    job_id = job["id"] if isinstance(job, dict) else job.pk
    return f"{jobs_url(slug)}{job_id}/"


def example(*pairs):
    """One training example: example(("user", "Hi"), ("assistant", "Hello."))."""
    return {"messages": [{"role": role, "content": content} for role, content in pairs]}


def jsonl(*lines) -> bytes:
    """A JSONL file: dicts are written as JSON, str and bytes as they are."""
    parts = []
    for line in lines:
        if isinstance(line, dict):
            line = json.dumps(line)
        parts.append(line if isinstance(line, bytes) else line.encode("utf-8"))
    return b"\n".join(parts) + b"\n"


# Three examples (the third line is blank): exact statistics in VALID_STATS.
VALID_FILE = jsonl(
    example(("system", "You are terse."), ("user", "Hi"), ("assistant", "Hello.")),
    example(("user", "2+2?"), ("assistant", "4")),
    "",
    example(
        ("user", "Name a colour."),
        ("assistant", "Blue."),
        ("user", "Another?"),
        ("assistant", "Red."),
    ),
)
VALID_STATS = {
    "is_valid": True,
    "examples": 3,
    "messages": 9,
    "messages_by_role": {"system": 1, "user": 4, "assistant": 4, "tool": 0},
    "characters": 58,  # 22 + 5 + 31 characters of content
    "estimated_tokens": 15,  # ceil(58 / 4)
    "min_messages_per_example": 2,
    "max_messages_per_example": 4,
    "mean_messages_per_example": 3.0,
    "blank_lines": 1,
}
GOOD = example(("user", "Hi"), ("assistant", "Hello."))


def upload(content: bytes = VALID_FILE, name: str = "train.jsonl") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/jsonl")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Stored training files land in a fresh directory per test, to be inspected."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def stored_files(media_root):
    """The files under MEDIA_ROOT right now, as paths relative to it."""

    def list_files():
        return sorted(str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file())

    return list_files


@pytest.fixture
def finished_signals():
    """Every job_finished sent for a fine-tuning job: (job id, outcome, organization slug)."""
    received = []

    def receiver(sender, job, outcome, organization, **kwargs):
        if sender is FineTuningJob:
            received.append((job.pk, outcome, organization.slug))

    job_finished.connect(receiver, weak=False)
    yield received
    job_finished.disconnect(receiver)


@pytest.fixture
def create_job(owner_client, django_capture_on_commit_callbacks):
    """POST a job as acme's owner and run its task on commit; the response's JSON."""

    def create(content=VALID_FILE, name="train.jsonl", client=None, run=True, **fields):
        data = {"base_model": "gpt-4o-mini", "training_file": upload(content, name), **fields}
        with django_capture_on_commit_callbacks(execute=run):
            response = (client or owner_client).post(jobs_url(), data, format="multipart")
        assert response.status_code == 201, response.json()
        return response.json()

    return create
