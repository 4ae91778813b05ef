"""The run engine: starting, executing (through the real task, eagerly) and cancelling runs."""

import pytest
from django.core.exceptions import ValidationError
from kombu.exceptions import OperationalError

from apps.workflows import limits, services, steps, tasks
from apps.workflows.models import WorkflowRun
from apps.workflows.services import RunFinishedError, WorkflowInactiveError

from .factories import WorkflowFactory, WorkflowRunFactory, definition, step

pytestmark = pytest.mark.django_db

Status = WorkflowRun.Status


@pytest.fixture
def run_workflow(owner, django_capture_on_commit_callbacks):
    """Start a run of a definition and execute it through the task, as the worker would."""

    def run(workflow_definition, run_input=None):
        workflow = WorkflowFactory(organization=owner.organization, definition=workflow_definition)
        with django_capture_on_commit_callbacks(execute=True):
            started = services.workflow_run_start(
                workflow=workflow, input=run_input or {}, started_by=owner.user
            )
        started.refresh_from_db()
        return started

    return run


def test_a_linear_run_passes_each_output_to_the_next_step(run_workflow, finished_jobs):
    run = run_workflow(
        definition(
            step("greet", config={"template": {"greeting": "Hello {{ input.name }}"}}),
            step(
                "shout",
                config={"template": {"text": "{{ steps.greet.greeting }}!", "n": "{{ input.n }}"}},
                depends_on=["greet"],
            ),
        ),
        {"name": "Ada", "n": 2},
    )
    assert run.status == Status.SUCCEEDED
    assert run.output == {"shout": {"text": "Hello Ada!", "n": 2}}
    assert run.step_results["greet"]["output"] == {"greeting": "Hello Ada"}
    assert run.step_results["shout"]["status"] == "succeeded"
    assert set(run.step_results["shout"]) == {
        "status",
        "output",
        "order",
        "started_at",
        "duration_ms",
    }
    assert [run.step_results[name]["order"] for name in ("greet", "shout")] == [1, 2]
    assert run.started_at <= run.finished_at
    assert run.error == ""
    assert run.failed_step == ""
    assert finished_jobs == [(run.pk, "succeeded", run.organization_id)]


def test_a_diamond_runs_in_dependency_order_and_joins_both_branches(run_workflow):
    run = run_workflow(
        definition(
            step(
                "d",
                config={"template": {"left": "{{ steps.b }}", "right": "{{ steps.c.v }}"}},
                depends_on=["b", "c"],
            ),
            step("b", config={"template": "b saw {{ steps.a.v }}"}, depends_on=["a"]),
            step("c", config={"template": {"v": "{{ steps.a.v }}"}}, depends_on=["a"]),
            step("a", config={"template": {"v": "{{ input.seed }}"}}),
        ),
        {"seed": 7},
    )
    assert run.status == Status.SUCCEEDED
    order = sorted(run.step_results, key=lambda name: run.step_results[name]["order"])
    # Dependencies first; b and c are independent, so they go in the order they are written.
    assert order == ["a", "b", "c", "d"]
    assert run.output == {"d": {"left": "b saw 7", "right": 7}}


def test_the_output_holds_every_sink_step(run_workflow):
    run = run_workflow(
        definition(
            step("a"),
            step("b", kind="merge", depends_on=["a"]),
            step("c", kind="wait", config={"seconds": 0.01}, depends_on=["a"]),
        )
    )
    assert run.output == {"b": {"step": "a"}, "c": {"step": "a"}}


def test_a_failing_step_fails_the_run_and_its_dependents_never_run(run_workflow, finished_jobs):
    run = run_workflow(
        definition(
            step("a"),
            step("check", kind="fail", config={"message": "Quota exceeded"}, depends_on=["a"]),
            step("after", depends_on=["check"]),
            step("sibling", depends_on=["a"]),
        )
    )
    assert run.status == Status.FAILED
    assert run.failed_step == "check"
    assert run.error == "Step 'check' failed: Quota exceeded"
    assert run.step_results["check"]["status"] == "failed"
    assert run.step_results["check"]["error"] == "Quota exceeded"
    assert "after" not in run.step_results
    assert run.output is None
    assert run.finished_at is not None
    assert finished_jobs == [(run.pk, "failed", run.organization_id)]


def test_a_missing_template_path_fails_the_run_naming_step_and_path(run_workflow):
    run = run_workflow(definition(step("t", config={"template": "{{ input.user.email }}"})))
    assert run.status == Status.FAILED
    assert run.failed_step == "t"
    assert run.error == (
        "Step 't' failed: Path 'input.user.email' does not exist: input has no 'user'."
    )


def test_an_unexpected_error_in_a_step_fails_the_run_and_is_logged(
    run_workflow, monkeypatch, caplog, finished_jobs
):
    def explode(self, config, context):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(steps.Merge, "run", explode)
    run = run_workflow(definition(step("m", kind="merge")))
    assert run.status == Status.FAILED
    assert run.error == "Step 'm' failed: an internal error occurred (it has been logged)."
    assert "hunter2" not in str(run.step_results)
    assert "hunter2" in caplog.text
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


def test_an_unexpected_error_outside_steps_never_leaves_the_run_running(
    run_workflow, monkeypatch, finished_jobs
):
    def broken(steps):
        raise RuntimeError("bug")

    monkeypatch.setattr(services, "sink_names", broken)
    run = run_workflow(definition(step("a")))
    assert run.status == Status.FAILED
    assert run.error == "The run failed: an internal error occurred (it has been logged)."
    assert run.finished_at is not None
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


def test_a_too_large_step_output_fails_the_step(run_workflow, monkeypatch):
    monkeypatch.setattr(limits, "MAX_STEP_OUTPUT_BYTES", 50)
    run = run_workflow(definition(step("a", config={"template": "y" * 60})))
    assert run.status == Status.FAILED
    assert run.error == ("Step 'a' failed: its output is 62 bytes of JSON; at most 50 are allowed.")


def test_a_too_deeply_nested_step_output_fails_the_step(run_workflow):
    wrapper = "{{ steps.a }}"
    for _ in range(40):
        wrapper = [wrapper]
    deep = "x"
    for _ in range(40):
        deep = {"k": deep}
    run = run_workflow(
        definition(
            step("a", config={"template": "{{ input.deep }}"}),
            step("b", config={"template": wrapper}, depends_on=["a"]),
        ),
        {"deep": deep},
    )
    assert run.status == Status.FAILED
    assert run.failed_step == "b"
    assert run.error == (
        f"Step 'b' failed: its output nests more than {limits.MAX_JSON_DEPTH} levels deep."
    )


def test_the_outputs_of_a_run_together_are_bounded(run_workflow, monkeypatch):
    monkeypatch.setattr(limits, "MAX_RUN_OUTPUT_BYTES", 30)
    run = run_workflow(
        definition(
            step("a", config={"template": "x" * 20}),
            step("b", config={"template": "y" * 20}, depends_on=["a"]),
        )
    )
    assert run.status == Status.FAILED
    assert run.failed_step == "b"
    assert "together would exceed 30 bytes" in run.error


def test_a_run_executes_the_definition_it_was_started_with(
    owner, django_capture_on_commit_callbacks
):
    workflow = WorkflowFactory(organization=owner.organization, definition=definition(step("v1")))
    run = services.workflow_run_start(workflow=workflow, input={}, started_by=owner.user)
    services.workflow_update(workflow=workflow, definition=definition(step("v2")))
    services.workflow_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.output == {"v1": {"step": "v1"}}


def test_start_stores_the_task_id_and_enqueues_on_commit(
    owner, django_capture_on_commit_callbacks, monkeypatch
):
    sent = []
    monkeypatch.setattr(
        tasks.execute_workflow_run, "apply_async", lambda **kwargs: sent.append(kwargs)
    )
    workflow = WorkflowFactory(organization=owner.organization)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        run = services.workflow_run_start(workflow=workflow, input={"a": 1}, started_by=owner.user)
    assert sent == []
    assert run.status == Status.QUEUED
    assert run.task_id
    assert run.created_by == owner.user
    assert run.definition == workflow.definition
    callbacks[0]()
    assert sent == [{"args": [str(run.pk)], "task_id": run.task_id}]


def test_a_run_that_cannot_be_queued_fails_instead_of_waiting_forever(
    owner, django_capture_on_commit_callbacks, monkeypatch, finished_jobs
):
    def broker_down(**kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.execute_workflow_run, "apply_async", broker_down)
    workflow = WorkflowFactory(organization=owner.organization)
    with django_capture_on_commit_callbacks(execute=True):
        run = services.workflow_run_start(workflow=workflow, input={}, started_by=owner.user)
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "could not be queued" in run.error
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


def test_an_inactive_workflow_cannot_be_started(owner):
    workflow = WorkflowFactory(organization=owner.organization, is_active=False)
    with pytest.raises(WorkflowInactiveError):
        services.workflow_run_start(workflow=workflow, input={}, started_by=owner.user)
    assert not WorkflowRun.objects.exists()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([1, 2], "The input must be a JSON object."),
        ("text", "The input must be a JSON object."),
        ({"big": "x" * limits.MAX_INPUT_BYTES}, "at most 65536 are allowed."),
        (
            {
                "deep": [
                    [
                        [
                            [
                                [
                                    [
                                        [
                                            [
                                                [
                                                    [
                                                        [
                                                            [
                                                                [
                                                                    [
                                                                        [
                                                                            [
                                                                                [
                                                                                    [
                                                                                        [
                                                                                            [
                                                                                                [
                                                                                                    [
                                                                                                        [
                                                                                                            [
                                                                                                                [
                                                                                                                    [
                                                                                                                        [
                                                                                                                            [
                                                                                                                                [
                                                                                                                                    [
                                                                                                                                        [
                                                                                                                                            [
                                                                                                                                                [
                                                                                                                                                    [
                                                                                                                                                        [
                                                                                                                                                            [
                                                                                                                                                                [
                                                                                                                                                                    [
                                                                                                                                                                        [
                                                                                                                                                                            [
                                                                                                                                                                                [
                                                                                                                                                                                    [
                                                                                                                                                                                        [
                                                                                                                                                                                            [
                                                                                                                                                                                                [
                                                                                                                                                                                                    [
                                                                                                                                                                                                        [
                                                                                                                                                                                                            [
                                                                                                                                                                                                                [
                                                                                                                                                                                                                    [
                                                                                                                                                                                                                        [
                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                [
                                                                                                                                                                                                                                                                    [
                                                                                                                                                                                                                                                                        [
                                                                                                                                                                                                                                                                            [
                                                                                                                                                                                                                                                                                []
                                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                                ]
                                                                                                                                                                                                                            ]
                                                                                                                                                                                                                        ]
                                                                                                                                                                                                                    ]
                                                                                                                                                                                                                ]
                                                                                                                                                                                                            ]
                                                                                                                                                                                                        ]
                                                                                                                                                                                                    ]
                                                                                                                                                                                                ]
                                                                                                                                                                                            ]
                                                                                                                                                                                        ]
                                                                                                                                                                                    ]
                                                                                                                                                                                ]
                                                                                                                                                                            ]
                                                                                                                                                                        ]
                                                                                                                                                                    ]
                                                                                                                                                                ]
                                                                                                                                                            ]
                                                                                                                                                        ]
                                                                                                                                                    ]
                                                                                                                                                ]
                                                                                                                                            ]
                                                                                                                                        ]
                                                                                                                                    ]
                                                                                                                                ]
                                                                                                                            ]
                                                                                                                        ]
                                                                                                                    ]
                                                                                                                ]
                                                                                                            ]
                                                                                                        ]
                                                                                                    ]
                                                                                                ]
                                                                                            ]
                                                                                        ]
                                                                                    ]
                                                                                ]
                                                                            ]
                                                                        ]
                                                                    ]
                                                                ]
                                                            ]
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ]
                            ]
                        ]
                    ]
                ]
            },
            "The input nests more than 64 levels deep.",
        ),
    ],
)
def test_the_input_must_be_a_bounded_object(owner, value, message):
    workflow = WorkflowFactory(organization=owner.organization)
    with pytest.raises(ValidationError) as caught:
        services.workflow_run_start(workflow=workflow, input=value, started_by=owner.user)
    assert message in caught.value.message_dict["input"][0]
    assert not WorkflowRun.objects.exists()


def test_cancelling_a_queued_run_ends_it_at_once_and_revokes_its_task(
    owner, django_capture_on_commit_callbacks, monkeypatch, finished_jobs
):
    revoked = []
    monkeypatch.setattr(tasks.execute_workflow_run.app.control, "revoke", revoked.append)
    run = WorkflowRunFactory(workflow__organization=owner.organization, task_id="task-1")
    with django_capture_on_commit_callbacks(execute=True):
        cancelled = services.workflow_run_cancel(run=run, acting_user=owner.user)
    assert cancelled.status == Status.CANCELLED
    assert cancelled.finished_at is not None
    assert cancelled.cancel_requested_at is not None
    assert revoked == ["task-1"]
    assert finished_jobs == [(run.pk, "cancelled", run.organization_id)]

    # The task, delivered anyway, finds the run cancelled and leaves it alone.
    assert services.workflow_run_execute(run_id=str(run.pk)) is None
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.started_at is None
    assert len(finished_jobs) == 1


def test_cancelling_a_running_run_stops_it_at_its_next_check(
    owner, django_capture_on_commit_callbacks, monkeypatch, finished_jobs
):
    """The cancel arrives while `pause` waits: `pause` ends cancelled, `later` never runs."""
    workflow = WorkflowFactory(
        organization=owner.organization,
        definition=definition(
            step("first"),
            step("pause", kind="wait", config={"seconds": 30}, depends_on=["first"]),
            step("later", depends_on=["pause"]),
        ),
    )
    run = services.workflow_run_start(workflow=workflow, input={}, started_by=owner.user)

    def sleep_then_cancel(seconds):
        # Stands in for a user cancelling from another request while the worker sleeps.
        running = WorkflowRun.objects.get(pk=run.pk)
        assert running.status == Status.RUNNING
        requested = services.workflow_run_cancel(run=running, acting_user=owner.user)
        assert requested.status == Status.RUNNING
        assert requested.cancel_requested_at is not None

    monkeypatch.setattr(steps.time, "sleep", sleep_then_cancel)
    services.workflow_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.finished_at is not None
    assert run.step_results["first"]["status"] == "succeeded"
    assert run.step_results["pause"]["status"] == "cancelled"
    assert "later" not in run.step_results
    assert finished_jobs == [(run.pk, "cancelled", run.organization_id)]


def test_a_cancel_requested_before_a_step_stops_the_run_there(owner, finished_jobs, monkeypatch):
    run = WorkflowRunFactory(
        workflow__organization=owner.organization,
        definition=definition(step("a"), step("b", depends_on=["a"])),
    )
    original = services._cancel_requested
    calls = []

    def cancel_after_first_step(current):
        calls.append(current.pk)
        if len(calls) == 2:
            services.workflow_run_cancel(run=current, acting_user=owner.user)
        return original(current)

    monkeypatch.setattr(services, "_cancel_requested", cancel_after_first_step)
    services.workflow_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert set(run.step_results) == {"a"}
    assert finished_jobs == [(run.pk, "cancelled", run.organization_id)]


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
def test_a_finished_run_cannot_be_cancelled(owner, status, finished_jobs):
    run = WorkflowRunFactory(workflow__organization=owner.organization, status=status)
    with pytest.raises(RunFinishedError) as caught:
        services.workflow_run_cancel(run=run, acting_user=owner.user)
    assert caught.value.message == (
        f"This run has already finished ({status}); only a queued or running run can be cancelled."
    )
    run.refresh_from_db()
    assert run.status == status
    assert finished_jobs == []


def test_a_run_whose_stored_definition_became_invalid_fails_cleanly(owner, finished_jobs):
    run = WorkflowRunFactory(
        workflow__organization=owner.organization,
        definition=definition(step("a", kind="retired")),
    )
    services.workflow_run_execute(run_id=str(run.pk))
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert run.error.startswith("The workflow definition is not valid: Step 'a' has an unknown")
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


def test_executing_a_run_that_does_not_exist_does_nothing():
    assert services.workflow_run_execute(run_id="00000000-0000-0000-0000-000000000000") is None


def _orphaned_run(owner, settings):
    """A run left running by a worker that died, older than the task's hard time limit."""
    from datetime import timedelta

    from django.utils import timezone

    workflow = WorkflowFactory(organization=owner.organization)
    run = WorkflowRun.objects.create(
        organization=owner.organization,
        workflow=workflow,
        definition=workflow.definition,
        status=Status.RUNNING,
        started_at=timezone.now() - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 5),
    )
    return run


def test_cancelling_a_run_whose_worker_was_lost_cancels_it_at_once(
    owner, settings, finished_jobs, django_capture_on_commit_callbacks
):
    run = _orphaned_run(owner, settings)
    with django_capture_on_commit_callbacks(execute=True):
        services.workflow_run_cancel(run=run, acting_user=owner.user)
    run.refresh_from_db()
    assert run.status == Status.CANCELLED
    assert run.finished_at is not None
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["cancelled"]


def test_a_redelivered_task_of_a_lost_worker_fails_the_run(
    owner, settings, finished_jobs, django_capture_on_commit_callbacks
):
    run = _orphaned_run(owner, settings)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.workflow_run_execute(run_id=str(run.pk)) is None
    run.refresh_from_db()
    assert run.status == Status.FAILED
    assert "worker" in run.error
    assert [outcome for _pk, outcome, _org in finished_jobs] == ["failed"]


def test_a_recent_running_run_is_not_taken_over_by_a_second_delivery(owner, settings):
    from django.utils import timezone

    workflow = WorkflowFactory(organization=owner.organization)
    run = WorkflowRun.objects.create(
        organization=owner.organization,
        workflow=workflow,
        definition=workflow.definition,
        status=Status.RUNNING,
        started_at=timezone.now(),
    )
    assert services.workflow_run_execute(run_id=str(run.pk)) is None
    run.refresh_from_db()
    assert run.status == Status.RUNNING
