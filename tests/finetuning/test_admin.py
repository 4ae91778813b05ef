"""The admin shows jobs read-only, deletes finished ones with their file, and cancels."""

import pytest

from apps.finetuning.models import FineTuningJob
from tests.factories import UserFactory

from .factories import FineTuningJobFactory

pytestmark = pytest.mark.django_db

Status = FineTuningJob.Status
CHANGELIST = "/admin/finetuning/finetuningjob/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_changelist_search_and_detail(admin_client, organization):
    job = FineTuningJobFactory(organization=organization, base_model="llama-3-8b")
    FineTuningJobFactory(organization=organization, base_model="gpt-4o-mini")
    listing = admin_client.get(CHANGELIST, {"q": "llama"})
    assert listing.status_code == 200
    assert listing.context["cl"].result_count == 1
    assert admin_client.get(CHANGELIST, {"status__exact": "queued"}).status_code == 200
    detail = admin_client.get(f"{CHANGELIST}{job.pk}/change/")
    assert detail.status_code == 200
    assert job.training_file.name not in detail.content.decode()


def test_jobs_are_not_added_or_edited_in_the_admin(admin_client, organization):
    job = FineTuningJobFactory(organization=organization)
    assert admin_client.get(f"{CHANGELIST}add/").status_code == 403
    admin_client.post(f"{CHANGELIST}{job.pk}/change/", {"base_model": "changed"})
    job.refresh_from_db()
    assert job.base_model == "gpt-4o-mini"


def test_admin_deletes_a_finished_job_with_its_file(
    admin_client, organization, stored_files, django_capture_on_commit_callbacks
):
    job = FineTuningJobFactory(organization=organization, status=Status.SUCCEEDED)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(f"{CHANGELIST}{job.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not FineTuningJob.objects.filter(pk=job.pk).exists()
    assert stored_files() == []


def test_admin_cannot_delete_an_active_job(admin_client, organization, stored_files):
    job = FineTuningJobFactory(organization=organization, status=Status.RUNNING)
    response = admin_client.post(f"{CHANGELIST}{job.pk}/delete/", {"post": "yes"})
    assert response.status_code == 403
    assert FineTuningJob.objects.filter(pk=job.pk).exists()
    assert (
        "delete_selected"
        not in admin_client.get(CHANGELIST)
        .context["action_form"]
        .fields["action"]
        .choices.__repr__()
    )


def test_admin_cancels_the_selected_unfinished_jobs(admin_client, organization, finished_signals):
    queued = FineTuningJobFactory(organization=organization)
    done = FineTuningJobFactory(organization=organization, status=Status.SUCCEEDED)
    response = admin_client.post(
        CHANGELIST,
        {"action": "cancel_jobs", "_selected_action": [str(queued.pk), str(done.pk)]},
        follow=True,
    )
    assert "Cancelled 1 job(s); 1 had already finished." in response.content.decode()
    queued.refresh_from_db()
    done.refresh_from_db()
    assert (queued.status, done.status) == (Status.CANCELLED, Status.SUCCEEDED)
    assert finished_signals == [(queued.pk, "cancelled", "acme")]
