"""Background work of fine-tuning: thin tasks that load by id and call a service."""

from celery import shared_task

from . import services


@shared_task(name="finetuning.run_job", ignore_result=True)
def run_finetuning_job(job_id: str) -> None:
    """Validate a fine-tuning job's training file and train through its provider."""
    services.finetuning_job_run(job_id=job_id)
