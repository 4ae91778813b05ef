"""Background work of workflows: executing a run."""

from celery import shared_task

from apps.workflows import services


@shared_task(ignore_result=True)
def execute_workflow_run(run_id: str) -> None:
    """Execute one queued workflow run (see `services.workflow_run_execute`)."""
    services.workflow_run_execute(run_id=run_id)
