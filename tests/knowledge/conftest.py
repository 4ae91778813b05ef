from pathlib import Path

import pytest

from apps.core.signals import job_finished
from apps.knowledge.models import Document
from apps.organizations.models import BuiltinRole

from .factories import KnowledgeBaseFactory
from .helpers import documents_url, upload_file


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path) -> Path:
    """Each test stores its files in a directory of its own, to look at afterwards."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


@pytest.fixture
def stored_files(media_root):
    """The paths, relative to MEDIA_ROOT, of every stored file."""

    def list_files() -> list[str]:
        return sorted(
            str(path.relative_to(media_root)) for path in media_root.rglob("*") if path.is_file()
        )

    return list_files


@pytest.fixture
def editor_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.EDITOR).user)


@pytest.fixture
def viewer_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.VIEWER).user)


@pytest.fixture
def knowledge_base(organization):
    return KnowledgeBaseFactory(organization=organization, name="Handbook")


@pytest.fixture
def other_knowledge_base(other_organization):
    return KnowledgeBaseFactory(organization=other_organization, name="Globex secrets")


@pytest.fixture
def finished_jobs():
    """Every job_finished signal sent for a document: (document id, outcome, organization id)."""
    received = []

    def receiver(sender, job, outcome, organization, **kwargs):
        if sender is Document:
            received.append((job.pk, outcome, organization.pk))

    job_finished.connect(receiver, weak=False, dispatch_uid="tests-knowledge-finished-jobs")
    yield received
    job_finished.disconnect(dispatch_uid="tests-knowledge-finished-jobs")


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """Upload a file through the API; with ingest=True, the real ingestion task runs on commit."""

    def post(client, knowledge_base, name, content, *, ingest=True, content_type="text/plain"):
        with django_capture_on_commit_callbacks(execute=ingest):
            return client.post(
                documents_url(knowledge_base),
                {"file": upload_file(name, content, content_type)},
                format="multipart",
            )

    return post
