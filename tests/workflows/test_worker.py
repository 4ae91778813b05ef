"""Runs executed by a real Celery worker, through the broker, against the test database."""

import time

import pytest

from apps.workflows.models import WorkflowRun

from .factories import WorkflowFactory, definition, step

Status = WorkflowRun.Status


def runs_url(workflow):
    return f"/api/v1/orgs/acme/workflows/{workflow.pk}/runs/"


def status_of(run_id):
    return WorkflowRun.objects.get(pk=run_id).status


@pytest.mark.usefixtures("celery_worker")
def test_a_running_run_is_cancelled_through_the_worker(
    owner_client, organization, wait_for, finished_jobs
):
    workflow = WorkflowFactory(
        organization=organization,
        definition=definition(
            step("first"),
            step("pause", kind="wait", config={"seconds": 5}, depends_on=["first"]),
            step("later", depends_on=["pause"]),
        ),
    )
    started = time.monotonic()
    response = owner_client.post(runs_url(workflow), {"input": {}})
    assert response.status_code == 202
    run_id = response.json()["id"]

    wait_for(lambda: status_of(run_id) == Status.RUNNING, message="the run to start")
    cancel = owner_client.post(f"{runs_url(workflow)}{run_id}/cancel/")
    assert cancel.status_code in (200, 202)
    wait_for(lambda: status_of(run_id) == Status.CANCELLED, message="the run to be cancelled")

    run = WorkflowRun.objects.get(pk=run_id)
    assert time.monotonic() - started < 5, "the wait step did not notice the cancellation"
    assert run.finished_at is not None
    assert run.cancel_requested_at is not None
    assert "later" not in run.step_results
    assert run.step_results.get("pause", {}).get("status", "cancelled") == "cancelled"
    wait_for(lambda: finished_jobs, message="job_finished")
    assert finished_jobs == [(run.pk, "cancelled", organization.pk)]


@pytest.mark.usefixtures("celery_worker")
def test_a_failing_step_fails_the_run_in_the_worker(
    owner_client, organization, wait_for, finished_jobs
):
    workflow = WorkflowFactory(
        organization=organization,
        definition=definition(
            step("a"),
            step("explode", kind="fail", config={"message": "Upstream 503"}, depends_on=["a"]),
            step("never", depends_on=["explode"]),
        ),
    )
    run_id = owner_client.post(runs_url(workflow), {"input": {}}).json()["id"]
    wait_for(lambda: status_of(run_id) == Status.FAILED, message="the run to fail")

    body = owner_client.get(f"{runs_url(workflow)}{run_id}/").json()
    assert body["failed_step"] == "explode"
    assert body["error"] == "Step 'explode' failed: Upstream 503"
    assert set(body["step_results"]) == {"a", "explode"}
    wait_for(lambda: finished_jobs, message="job_finished")
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


@pytest.mark.usefixtures("celery_worker")
def test_a_diamond_runs_in_the_worker(owner_client, organization, wait_for, finished_jobs):
    workflow = WorkflowFactory(
        organization=organization,
        definition=definition(
            step("a", config={"template": {"n": "{{ input.n }}"}}),
            step(
                "b",
                config={"template": {"double": ["{{ steps.a.n }}", "{{ steps.a.n }}"]}},
                depends_on=["a"],
            ),
            step("c", kind="wait", config={"seconds": 0.1}, depends_on=["a"]),
            step("d", kind="merge", depends_on=["b", "c"]),
        ),
    )
    run_id = owner_client.post(runs_url(workflow), {"input": {"n": 21}}).json()["id"]
    wait_for(lambda: status_of(run_id) == Status.SUCCEEDED, message="the run to succeed")

    run = WorkflowRun.objects.get(pk=run_id)
    assert run.output == {"d": {"double": [21, 21], "n": 21}}
    order = {name: result["order"] for name, result in run.step_results.items()}
    assert order["a"] < order["b"] < order["d"]
    assert order["a"] < order["c"] < order["d"]
    wait_for(lambda: finished_jobs, message="job_finished")
    assert finished_jobs == [(run.pk, "succeeded", organization.pk)]
