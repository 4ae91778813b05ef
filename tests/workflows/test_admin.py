"""The admin shows workflows and runs, and writes through the services."""

import pytest
from django.test import Client

from apps.workflows.models import Workflow, WorkflowRun
from tests.factories import UserFactory

from .factories import WorkflowFactory, WorkflowRunFactory

pytestmark = pytest.mark.django_db

Status = WorkflowRun.Status


@pytest.fixture
def admin_browser():
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_admin_lists_and_shows_runs_read_only(admin_browser, organization):
    run = WorkflowRunFactory(workflow__organization=organization, status=Status.FAILED)
    assert admin_browser.get("/admin/workflows/workflowrun/").status_code == 200
    page = admin_browser.get(f"/admin/workflows/workflowrun/{run.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert admin_browser.get("/admin/workflows/workflow/").status_code == 200


def test_admin_cancels_runs_through_the_service(admin_browser, organization, finished_jobs):
    queued = WorkflowRunFactory(workflow__organization=organization)
    done = WorkflowRunFactory(workflow__organization=organization, status=Status.SUCCEEDED)
    response = admin_browser.post(
        "/admin/workflows/workflowrun/",
        {"action": "cancel_runs", "_selected_action": [str(queued.pk), str(done.pk)]},
        follow=True,
    )
    assert response.status_code == 200
    queued.refresh_from_db()
    done.refresh_from_db()
    assert queued.status == Status.CANCELLED
    assert done.status == Status.SUCCEEDED


def test_admin_refuses_an_invalid_definition(admin_browser, organization):
    response = admin_browser.post(
        "/admin/workflows/workflow/add/",
        {
            "organization": str(organization.pk),
            "name": "Bad",
            "description": "",
            "definition": '{"steps": [{"name": "a", "kind": "nope"}]}',
            "is_active": "on",
        },
    )
    assert response.status_code == 200
    assert b"has an unknown kind" in response.content
    assert not Workflow.objects.exists()

    valid = '{"steps": [{"name": "a", "kind": "merge"}]}'
    created = admin_browser.post(
        "/admin/workflows/workflow/add/",
        {"organization": str(organization.pk), "name": "Good", "definition": valid},
    )
    assert created.status_code == 302
    assert Workflow.objects.get().definition == {"steps": [{"name": "a", "kind": "merge"}]}


def test_admin_deletes_a_workflow_with_finished_runs_only(admin_browser, organization):
    idle = WorkflowFactory(organization=organization)
    WorkflowRunFactory(workflow=idle, status=Status.SUCCEEDED)
    busy = WorkflowFactory(organization=organization)
    WorkflowRunFactory(workflow=busy, status=Status.RUNNING)

    deleted = admin_browser.post(f"/admin/workflows/workflow/{idle.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not Workflow.objects.filter(pk=idle.pk).exists()
    # An active run cannot be deleted, so neither can its workflow.
    refused = admin_browser.post(f"/admin/workflows/workflow/{busy.pk}/delete/", {"post": "yes"})
    assert refused.status_code == 403
    assert Workflow.objects.filter(pk=busy.pk).exists()
    assert WorkflowRun.objects.filter(workflow=busy).exists()


def test_admin_deletes_only_finished_runs(admin_browser, organization):
    done = WorkflowRunFactory(workflow__organization=organization, status=Status.FAILED)
    queued = WorkflowRunFactory(workflow__organization=organization)
    response = admin_browser.post(
        "/admin/workflows/workflowrun/",
        {
            "action": "delete_selected",
            "_selected_action": [str(done.pk), str(queued.pk)],
            "post": "yes",
        },
    )
    assert response.status_code == 403
    assert WorkflowRun.objects.filter(pk=queued.pk).exists()

    admin_browser.post(
        "/admin/workflows/workflowrun/",
        {"action": "delete_selected", "_selected_action": [str(done.pk)], "post": "yes"},
    )
    assert not WorkflowRun.objects.filter(pk=done.pk).exists()
