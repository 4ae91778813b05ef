"""Runs through /api/v1/orgs/{org_slug}/workflows/{id}/runs/: start, read, cancel."""

import uuid

import pytest

from apps.organizations.models import BuiltinRole
from apps.workflows import limits
from apps.workflows.models import WorkflowRun

from .factories import WorkflowFactory, WorkflowRunFactory, definition, step

pytestmark = pytest.mark.django_db

Status = WorkflowRun.Status

RUN_FIELDS = {
    "id",
    "workflow",
    "status",
    "input",
    "output",
    "step_results",
    "error",
    "failed_step",
    "definition",
    "created_by",
    "created_at",
    "started_at",
    "finished_at",
    "cancel_requested_at",
}


def runs_url(workflow, org="acme"):
    return f"/api/v1/orgs/{org}/workflows/{workflow.pk}/runs/"


def run_url(run, workflow=None):
    return f"{runs_url(workflow or run.workflow)}{run.pk}/"


@pytest.fixture
def workflow(organization):
    return WorkflowFactory(
        organization=organization,
        name="Greeter",
        definition=definition(
            step("greet", config={"template": {"greeting": "Hello {{ input.name }}"}})
        ),
    )


def test_starting_a_run_answers_202_with_the_queued_run(
    editor_client, workflow, django_capture_on_commit_callbacks, finished_jobs
):
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(runs_url(workflow), {"input": {"name": "Ada"}})
    assert response.status_code == 202, response.json()
    body = response.json()
    assert set(body) == RUN_FIELDS
    assert body["status"] == "queued"
    assert body["workflow"] == str(workflow.pk)
    assert body["input"] == {"name": "Ada"}
    assert body["started_at"] is None

    # The task ran on commit (eagerly here): the run is done.
    finished = editor_client.get(f"{runs_url(workflow)}{body['id']}/").json()
    assert finished["status"] == "succeeded"
    assert finished["output"] == {"greet": {"greeting": "Hello Ada"}}
    assert finished["step_results"]["greet"]["status"] == "succeeded"
    assert finished["finished_at"] is not None
    assert finished_jobs == [(uuid.UUID(body["id"]), "succeeded", workflow.organization_id)]


def test_input_defaults_to_an_empty_object(owner_client, workflow):
    response = owner_client.post(runs_url(workflow), {})
    assert response.status_code == 202
    assert response.json()["input"] == {}


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"input": [1]}, "The input must be a JSON object."),
        ({"input": "Ada"}, "The input must be a JSON object."),
        ({"input": None}, "This field may not be null."),
        (
            {"input": {"text": "x" * limits.MAX_INPUT_BYTES}},
            f"at most {limits.MAX_INPUT_BYTES} are allowed.",
        ),
    ],
)
def test_bad_input_is_refused(owner_client, workflow, body, message):
    response = owner_client.post(runs_url(workflow), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert message in response.json()["error"]["details"]["input"][0]
    assert not WorkflowRun.objects.exists()


def test_an_inactive_workflow_cannot_be_started(owner_client, workflow):
    workflow.is_active = False
    workflow.save()
    response = owner_client.post(runs_url(workflow), {"input": {}})
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "workflow_inactive",
        "message": "This workflow is inactive; activate it before starting a run.",
        "details": {},
        "request_id": response.json()["error"]["request_id"],
    }
    assert not WorkflowRun.objects.exists()


def test_a_failing_run_reads_with_its_failed_step(
    owner_client, organization, django_capture_on_commit_callbacks
):
    failing = WorkflowFactory(
        organization=organization,
        definition=definition(
            step("a"),
            step("deny", kind="fail", config={"message": "Not today"}, depends_on=["a"]),
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        run_id = owner_client.post(runs_url(failing), {"input": {}}).json()["id"]
    body = owner_client.get(f"{runs_url(failing)}{run_id}/").json()
    assert body["status"] == "failed"
    assert body["failed_step"] == "deny"
    assert body["error"] == "Step 'deny' failed: Not today"
    assert body["output"] is None


def test_runs_are_listed_per_workflow_with_a_status_filter_and_ordering(
    viewer_client, organization, workflow
):
    other = WorkflowFactory(organization=organization)
    first = WorkflowRunFactory(workflow=workflow, status=Status.SUCCEEDED)
    second = WorkflowRunFactory(workflow=workflow, status=Status.FAILED)
    third = WorkflowRunFactory(workflow=workflow, status=Status.SUCCEEDED)
    WorkflowRunFactory(workflow=other)

    listed = viewer_client.get(runs_url(workflow)).json()
    assert listed["count"] == 3
    assert [r["id"] for r in listed["results"]] == [str(third.pk), str(second.pk), str(first.pk)]
    oldest_first = viewer_client.get(runs_url(workflow), {"ordering": "created_at"}).json()
    assert [r["id"] for r in oldest_first["results"]] == [
        str(first.pk),
        str(second.pk),
        str(third.pk),
    ]
    succeeded = viewer_client.get(runs_url(workflow), {"status": "succeeded"}).json()
    assert {r["id"] for r in succeeded["results"]} == {str(first.pk), str(third.pk)}
    assert viewer_client.get(runs_url(workflow), {"status": "lost"}).status_code == 400
    assert viewer_client.get(runs_url(workflow), {"ordering": "error"}).status_code == 400


def test_viewer_reads_a_run(viewer_client, workflow):
    run = WorkflowRunFactory(workflow=workflow, input={"a": 1})
    body = viewer_client.get(run_url(run)).json()
    assert body["id"] == str(run.pk)
    assert body["input"] == {"a": 1}


def test_viewer_cannot_start_or_cancel_a_run(viewer_client, workflow):
    run = WorkflowRunFactory(workflow=workflow)
    assert viewer_client.post(runs_url(workflow), {"input": {}}).status_code == 403
    response = viewer_client.post(f"{run_url(run)}cancel/")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    run.refresh_from_db()
    assert run.status == Status.QUEUED
    assert WorkflowRun.objects.count() == 1


def test_cancelling_a_queued_run_answers_200_with_the_cancelled_run(
    editor_client, workflow, django_capture_on_commit_callbacks, finished_jobs
):
    run = WorkflowRunFactory(workflow=workflow)
    with django_capture_on_commit_callbacks(execute=True):
        response = editor_client.post(f"{run_url(run)}cancel/")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "cancelled"
    assert body["finished_at"] is not None
    assert finished_jobs == [(run.pk, "cancelled", workflow.organization_id)]


def test_cancelling_a_running_run_answers_202_until_the_executor_stops_it(editor_client, workflow):
    run = WorkflowRunFactory(workflow=workflow, status=Status.RUNNING)
    response = editor_client.post(f"{run_url(run)}cancel/")
    assert response.status_code == 202
    assert response.json()["status"] == "running"
    assert response.json()["cancel_requested_at"] is not None
    # Asking again changes nothing.
    again = editor_client.post(f"{run_url(run)}cancel/")
    assert again.status_code == 202
    assert again.json()["cancel_requested_at"] == response.json()["cancel_requested_at"]


def test_cancelling_a_finished_run_is_a_conflict(owner_client, workflow, finished_jobs):
    run = WorkflowRunFactory(workflow=workflow, status=Status.SUCCEEDED)
    response = owner_client.post(f"{run_url(run)}cancel/")
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "run_finished"
    assert error["message"] == (
        "This run has already finished (succeeded); only a queued or running run can be cancelled."
    )
    run.refresh_from_db()
    assert run.status == Status.SUCCEEDED
    assert finished_jobs == []


def test_runs_of_another_organizations_workflow_are_not_found(
    owner_client, other_organization, django_capture_on_commit_callbacks
):
    foreign = WorkflowFactory(organization=other_organization)
    run = WorkflowRunFactory(workflow=foreign)
    with django_capture_on_commit_callbacks(execute=True):
        responses = [
            owner_client.get(runs_url(foreign)),
            owner_client.post(runs_url(foreign), {"input": {}}),
            owner_client.get(run_url(run, foreign)),
            owner_client.post(f"{run_url(run, foreign)}cancel/"),
        ]
    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert {r.json()["error"]["code"] for r in responses} == {"not_found"}
    assert WorkflowRun.objects.count() == 1
    run.refresh_from_db()
    assert run.status == Status.QUEUED


def test_a_run_is_only_found_under_its_own_workflow(owner_client, organization, workflow):
    other = WorkflowFactory(organization=organization)
    run = WorkflowRunFactory(workflow=other)
    assert owner_client.get(run_url(run, workflow)).status_code == 404
    assert owner_client.post(f"{run_url(run, workflow)}cancel/").status_code == 404
    assert owner_client.get(run_url(run, other)).status_code == 200


def test_a_missing_workflow_is_not_found(owner_client):
    missing = f"/api/v1/orgs/acme/workflows/{uuid.uuid4()}/runs/"
    assert owner_client.get(missing).status_code == 404
    assert owner_client.post(missing, {"input": {}}).status_code == 404
    not_a_uuid = "/api/v1/orgs/acme/workflows/" + "-" * 36 + "/runs/"
    assert owner_client.get(not_a_uuid).status_code == 404


def test_non_member_gets_404(client_for, member_of, other_organization, workflow):
    outsider = member_of(other_organization, BuiltinRole.OWNER).user
    assert client_for(outsider).get(runs_url(workflow)).status_code == 404
    assert client_for(outsider).post(runs_url(workflow), {"input": {}}).status_code == 404


def test_anonymous_caller_is_refused(api_client, workflow):
    response = api_client.get(runs_url(workflow))
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("rows", [5, 50])
def test_run_list_queries_are_constant(
    owner_client, organization, member_of, workflow, rows, django_assert_max_num_queries
):
    starters = [member_of(organization, BuiltinRole.EDITOR).user for _ in range(3)]
    for index in range(rows):
        WorkflowRunFactory(workflow=workflow, created_by=starters[index % 3])
    # The membership, the workflow (looked up once), the count and the page.
    with django_assert_max_num_queries(5):
        response = owner_client.get(runs_url(workflow), {"page_size": 200})
    assert len(response.json()["results"]) == rows
