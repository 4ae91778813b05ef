"""Business actions on workflows and the engine that executes their runs.

A run moves queued -> running -> succeeded / failed / cancelled. Every change
of status is a conditional update (or happens under a row lock), so the
executor and a cancellation can never both decide how a run ends, and
`job_finished` is sent exactly once, by whichever of them did.
"""

import logging
import time
from datetime import timedelta
from typing import Any

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from apps.accounts.models import User
from apps.core.exceptions import ConflictError
from apps.core.signals import send_job_finished
from apps.organizations.models import Organization

from . import limits, selectors, tasks
from .definition import (
    DefinitionError,
    Step,
    parse_definition,
    sink_names,
    validate_definition,
)
from .models import Workflow, WorkflowRun
from .steps import RunCancelled, StepContext, StepError, get_step_kind

logger = logging.getLogger(__name__)

Status = WorkflowRun.Status


class WorkflowInactiveError(ConflictError):
    code = "workflow_inactive"
    default_message = "This workflow is inactive; activate it before starting a run."


class WorkflowBusyError(ConflictError):
    code = "workflow_busy"
    default_message = (
        "This workflow has queued or running runs; cancel them or let them finish "
        "before deleting it."
    )


class RunFinishedError(ConflictError):
    code = "run_finished"


# --- Workflows ---------------------------------------------------------------


def _validate_workflow(workflow: Workflow) -> None:
    errors = validate_definition(workflow.definition)
    if errors:
        raise ValidationError({"definition": errors})
    workflow.full_clean(validate_unique=False, validate_constraints=False)
    taken = Workflow.objects.filter(organization_id=workflow.organization_id, name=workflow.name)
    if taken.exclude(pk=workflow.pk).exists():
        raise ValidationError({"name": ["A workflow with this name already exists."]})


def _save_workflow(workflow: Workflow) -> None:
    try:
        # A savepoint, so losing a race on the unique name leaves the outer transaction usable.
        with transaction.atomic():
            workflow.save()
    except IntegrityError as exc:
        raise ValidationError({"name": ["A workflow with this name already exists."]}) from exc


@transaction.atomic
def workflow_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    definition: Any,
    description: str = "",
    is_active: bool = True,
) -> Workflow:
    """Create a workflow after validating its definition (400 with every problem found)."""
    workflow = Workflow(
        organization=organization,
        created_by=created_by,
        name=name,
        description=description,
        definition=definition,
        is_active=is_active,
    )
    _validate_workflow(workflow)
    _save_workflow(workflow)
    return workflow


@transaction.atomic
def workflow_update(
    *,
    workflow: Workflow,
    name: str | None = None,
    description: str | None = None,
    definition: Any = None,
    is_active: bool | None = None,
) -> Workflow:
    """Change a workflow; runs already started keep the definition they started with."""
    if name is not None:
        workflow.name = name
    if description is not None:
        workflow.description = description
    if definition is not None:
        workflow.definition = definition
    if is_active is not None:
        workflow.is_active = is_active
    _validate_workflow(workflow)
    _save_workflow(workflow)
    return workflow


@transaction.atomic
def workflow_delete(*, workflow: Workflow) -> None:
    """Delete a workflow and its finished runs; refused (409) while a run is queued or running.

    The workflow row is locked first, so no run can start between the check and
    the delete (`workflow_run_start` takes the same lock).
    """
    Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    if selectors.workflow_has_active_runs(workflow=workflow):
        raise WorkflowBusyError()
    workflow.delete()


# --- Starting and cancelling runs ----------------------------------------------


def _validate_input(value: Any) -> dict:
    if not isinstance(value, dict):
        raise ValidationError({"input": ["The input must be a JSON object."]})
    if limits.json_depth_exceeds(value, limits.MAX_JSON_DEPTH):
        raise ValidationError(
            {"input": [f"The input nests more than {limits.MAX_JSON_DEPTH} levels deep."]}
        )
    try:
        size = limits.json_size(value)
    except (TypeError, ValueError) as exc:
        raise ValidationError({"input": ["The input must be plain JSON."]}) from exc
    if size > limits.MAX_INPUT_BYTES:
        raise ValidationError(
            {
                "input": [
                    f"The input is {size} bytes of JSON; at most {limits.MAX_INPUT_BYTES} "
                    "are allowed."
                ]
            }
        )
    return value


@transaction.atomic
def workflow_run_start(*, workflow: Workflow, input: dict, started_by: User | None) -> WorkflowRun:
    """Queue a run of the workflow with `input`; a worker executes it once this commits.

    The run keeps a copy of the definition, so editing the workflow does not
    change a run that has already been started.
    """
    run_input = _validate_input(input)
    locked = Workflow.objects.select_for_update().filter(pk=workflow.pk).first()
    if locked is None:
        raise ValidationError({"workflow": ["This workflow no longer exists."]})
    if not locked.is_active:
        raise WorkflowInactiveError()
    run = WorkflowRun(
        organization_id=locked.organization_id,
        workflow=locked,
        created_by=started_by,
        definition=locked.definition,
        input=run_input,
    )
    # The task id is chosen here so it is stored with the run, before any worker sees it.
    run.task_id = str(run.pk)
    run.save()
    transaction.on_commit(lambda: _enqueue(run))
    return run


def _enqueue(run: WorkflowRun) -> None:
    try:
        tasks.execute_workflow_run.apply_async(args=[str(run.pk)], task_id=run.task_id)
    except BrokerError:
        logger.exception("Could not queue workflow run %s", run.pk)
        # Without this, a run nobody will ever execute would stay queued forever.
        _finish(
            run,
            from_status=Status.QUEUED,
            status=Status.FAILED,
            error="The run could not be queued (the task broker is unavailable); start it again.",
        )


@transaction.atomic
def workflow_run_cancel(*, run: WorkflowRun, acting_user: User | None) -> WorkflowRun:
    """Cancel a run: a queued one at once, a running one at its next check (409 if it ended).

    A running run only gets `cancel_requested_at`; the executor notices it
    before the next step (or within a `wait`) and ends the run as cancelled.
    """
    locked = WorkflowRun.objects.select_for_update().get(pk=run.pk)
    now = timezone.now()
    if locked.status == Status.QUEUED:
        locked.status = Status.CANCELLED
        locked.cancel_requested_at = now
        locked.finished_at = now
        locked.save(update_fields=["status", "cancel_requested_at", "finished_at", "updated_at"])
        logger.info(
            "Workflow run %s cancelled while queued by user %s", locked.pk, _pk(acting_user)
        )
        transaction.on_commit(lambda: _after_queued_run_cancelled(locked))
    elif locked.status == Status.RUNNING and _is_orphaned(locked):
        # Past the hard time limit the executing worker has been killed: nobody will
        # notice a request, so the run is cancelled here and now (its row is locked).
        locked.status = Status.CANCELLED
        locked.cancel_requested_at = now
        locked.finished_at = now
        locked.error = "Cancelled after the worker executing it was lost."
        locked.save(
            update_fields=["status", "cancel_requested_at", "finished_at", "error", "updated_at"]
        )
        transaction.on_commit(lambda: send_job_finished(job=locked, outcome=Status.CANCELLED.value))
    elif locked.status == Status.RUNNING:
        if locked.cancel_requested_at is None:
            locked.cancel_requested_at = now
            locked.save(update_fields=["cancel_requested_at", "updated_at"])
            logger.info(
                "Cancellation of workflow run %s requested by user %s", locked.pk, _pk(acting_user)
            )
    else:
        raise RunFinishedError(
            f"This run has already finished ({locked.status}); only a queued or running run "
            "can be cancelled."
        )
    return locked


def _is_orphaned(run: WorkflowRun) -> bool:
    """Whether a running run has outlived the task's hard time limit (its worker is gone)."""
    limit = timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    return (
        run.status == Status.RUNNING
        and run.started_at is not None
        and (timezone.now() - run.started_at > limit)
    )


WORKER_LOST = "The run stopped: the worker executing it was lost (killed or timed out)."


def _pk(user: User | None):
    return user.pk if user is not None else None


def _after_queued_run_cancelled(run: WorkflowRun) -> None:
    send_job_finished(job=run, outcome=Status.CANCELLED.value)
    if not run.task_id:
        return
    try:
        # Saves the worker a look at the run; if this fails, it finds it cancelled and stops.
        tasks.execute_workflow_run.app.control.revoke(run.task_id)
    except BrokerError:
        logger.warning("Could not revoke the task of cancelled run %s", run.pk, exc_info=True)


# --- Executing a run ---------------------------------------------------------

INTERNAL_ERROR = "an internal error occurred (it has been logged)"


def workflow_run_execute(*, run_id: str) -> WorkflowRun | None:
    """Execute a queued run to its end; called by the Celery task.

    Does nothing if the run is no longer queued (cancelled, or already taken by
    another delivery of the task). Whatever happens, a run this call started
    ends succeeded, failed or cancelled, never stuck in running.
    """
    run = _claim(run_id)
    if run is None:
        return None
    try:
        _execute(run)
    except Exception:
        logger.exception("Workflow run %s failed unexpectedly", run.pk)
        _finish(
            run,
            from_status=Status.RUNNING,
            status=Status.FAILED,
            error=f"The run failed: {INTERNAL_ERROR}.",
        )
    run.refresh_from_db()
    return run


def _claim(run_id: str) -> WorkflowRun | None:
    """Move the run from queued to running, or return None if it is not queued."""
    with transaction.atomic():
        run = WorkflowRun.objects.select_for_update().filter(pk=run_id).first()
        if run is None:
            logger.warning("Workflow run %s does not exist; nothing to execute", run_id)
            return None
        if _is_orphaned(run):
            # A redelivery of the task of a worker that died mid-run: end it, do not rerun it.
            transaction.on_commit(
                lambda: _finish(
                    run, from_status=Status.RUNNING, status=Status.FAILED, error=WORKER_LOST
                )
            )
            return None
        if run.status != Status.QUEUED:
            logger.info("Workflow run %s is %s, not queued; not executing it", run_id, run.status)
            return None
        run.status = Status.RUNNING
        run.started_at = timezone.now()
        run.save(update_fields=["status", "started_at", "updated_at"])
    return run


def _cancel_requested(run: WorkflowRun) -> bool:
    row = WorkflowRun.objects.filter(pk=run.pk).values_list("status", "cancel_requested_at").first()
    if row is None:  # deleted with its organization meanwhile: stop as well
        return True
    status, cancel_requested_at = row
    return status != Status.RUNNING or cancel_requested_at is not None


def _raise_if_cancel_requested(run: WorkflowRun) -> None:
    if _cancel_requested(run):
        raise RunCancelled()


def _checked_output(output: Any, *, budget: int) -> tuple[Any, int]:
    """The output and its size, or StepError if it is not JSON or too large."""
    if limits.json_depth_exceeds(output, limits.MAX_JSON_DEPTH):
        raise StepError(f"its output nests more than {limits.MAX_JSON_DEPTH} levels deep.")
    try:
        size = limits.json_size(output)
    except (TypeError, ValueError) as exc:
        raise StepError("its output is not plain JSON.") from exc
    if size > limits.MAX_STEP_OUTPUT_BYTES:
        raise StepError(
            f"its output is {size} bytes of JSON; at most {limits.MAX_STEP_OUTPUT_BYTES} are "
            "allowed."
        )
    if size > budget:
        raise StepError(
            "the outputs of the run's steps together would exceed "
            f"{limits.MAX_RUN_OUTPUT_BYTES} bytes."
        )
    return output, size


def _run_step(
    run: WorkflowRun, step: Step, context: StepContext, *, budget: int
) -> tuple[Any, int]:
    """Run one step: its output and size, or RunCancelled, or StepError with the reason."""
    try:
        output = get_step_kind(step.kind).run(step.config, context)
        return _checked_output(output, budget=budget)
    except (RunCancelled, StepError):
        raise
    except SoftTimeLimitExceeded as exc:
        raise StepError("the run took longer than its time limit.") from exc
    except Exception as exc:
        # A bug in a step kind: the user gets a reason, the traceback goes to the log.
        logger.exception("Step %r of workflow run %s raised", step.name, run.pk)
        raise StepError(f"{INTERNAL_ERROR}.") from exc


def _step_result(status: str, *, order: int, started_at, clock: float, **fields) -> dict:
    return {
        "status": status,
        **fields,
        # JSON objects keep no key order in PostgreSQL, so the order is written down.
        "order": order,
        "started_at": started_at.isoformat(),
        "duration_ms": round((time.monotonic() - clock) * 1000),
    }


def _execute(run: WorkflowRun) -> None:
    try:
        steps = parse_definition(run.definition)
    except DefinitionError as exc:
        _finish(
            run,
            from_status=Status.RUNNING,
            status=Status.FAILED,
            error=f"The workflow definition is not valid: {exc}",
        )
        return

    outputs: dict[str, Any] = {}
    results: dict[str, dict] = {}
    budget = limits.MAX_RUN_OUTPUT_BYTES
    for step in steps:
        if _cancel_requested(run):
            _finish(run, from_status=Status.RUNNING, status=Status.CANCELLED, step_results=results)
            return
        context = StepContext(
            input=run.input,
            steps={name: outputs[name] for name in step.depends_on},
            check_cancelled=lambda: _raise_if_cancel_requested(run),
        )
        timing = {
            "order": len(results) + 1,
            "started_at": timezone.now(),
            "clock": time.monotonic(),
        }
        try:
            output, size = _run_step(run, step, context, budget=budget)
        except RunCancelled:
            results[step.name] = _step_result("cancelled", **timing)
            _finish(run, from_status=Status.RUNNING, status=Status.CANCELLED, step_results=results)
            return
        except StepError as exc:
            results[step.name] = _step_result("failed", error=str(exc), **timing)
            _finish(
                run,
                from_status=Status.RUNNING,
                status=Status.FAILED,
                step_results=results,
                failed_step=step.name,
                error=f"Step '{step.name}' failed: {exc}",
            )
            return

        budget -= size
        outputs[step.name] = output
        results[step.name] = _step_result("succeeded", output=output, **timing)
        # Progress is visible through the API while the run goes on.
        WorkflowRun.objects.filter(pk=run.pk, status=Status.RUNNING).update(
            step_results=results, updated_at=timezone.now()
        )

    _finish(
        run,
        from_status=Status.RUNNING,
        status=Status.SUCCEEDED,
        step_results=results,
        output={name: outputs[name] for name in sink_names(steps)},
    )


def _finish(run: WorkflowRun, *, from_status: str, status: str, **fields) -> bool:
    """End the run if it is still in `from_status`; send job_finished if this call ended it."""
    now = timezone.now()
    ended = WorkflowRun.objects.filter(pk=run.pk, status=from_status).update(
        status=status, finished_at=now, updated_at=now, **fields
    )
    if not ended:
        logger.warning("Workflow run %s was no longer %s; left as it is", run.pk, from_status)
        return False
    run.refresh_from_db()
    send_job_finished(job=run, outcome=run.status)
    return True
