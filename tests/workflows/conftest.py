import pytest

from apps.core.signals import job_finished
from apps.organizations.models import BuiltinRole
from apps.workflows.models import WorkflowRun


@pytest.fixture
def editor_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.EDITOR).user)


@pytest.fixture
def viewer_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.VIEWER).user)


@pytest.fixture
def finished_jobs():
    """Every job_finished signal sent during the test, as (job id, outcome, organization id)."""
    received = []

    def receiver(sender, job, outcome, organization, **kwargs):
        # Plain values, as listeners elsewhere (email, audit) expect them.
        assert sender is WorkflowRun
        assert type(outcome) is str
        received.append((job.pk, outcome, organization.pk))

    job_finished.connect(receiver, weak=False, dispatch_uid="tests.workflows.finished_jobs")
    yield received
    job_finished.disconnect(dispatch_uid="tests.workflows.finished_jobs")
