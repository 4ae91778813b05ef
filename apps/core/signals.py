"""Signals other parts of the platform (email notifications, audit) listen to."""

from django.dispatch import Signal

# Sent once when a background job ends: a document ingestion, a workflow run or a
# fine-tuning job. Arguments: job (the model instance), outcome ("succeeded",
# "failed" or "cancelled") and organization.
job_finished = Signal()


def send_job_finished(*, job, outcome: str) -> None:
    job_finished.send(sender=type(job), job=job, outcome=outcome, organization=job.organization)
