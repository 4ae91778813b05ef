"""Business actions on fine-tuning jobs: create, run, cancel and delete.

A job moves queued -> validating -> running -> succeeded | failed, or to
cancelled from any of the first three. Every move is a conditional update
("only if the status is still X"), so when a cancel and the background task
race, exactly one of them ends the job, and `job_finished` is sent exactly
once, by whichever did.
"""

import logging
import os
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from apps.accounts.models import User
from apps.core.exceptions import ConflictError
from apps.core.signals import send_job_finished
from apps.organizations.models import Organization

from .hyperparameters import clean_hyperparameters
from .models import FineTuningJob
from .providers import UnknownProviderError, get_provider
from .validation import TrainingFileError, validate_training_file

logger = logging.getLogger(__name__)

Status = FineTuningJob.Status
ACTIVE_STATUSES = frozenset({Status.QUEUED, Status.VALIDATING, Status.RUNNING})

ALLOWED_EXTENSIONS = (".jsonl", ".json")
BASE_MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/-]*$")
BASE_MODEL_RULE = (
    "Use letters, digits and the characters . _ : / - (starting with a letter or digit)."
)
INTERNAL_ERROR = "The job failed because of an internal error. It has been logged."
WORKER_LOST = "The worker processing this job stopped before it finished. Start a new job."


class JobFinishedError(ConflictError):
    code = "job_finished"
    default_message = "This job has already finished."


class JobActiveError(ConflictError):
    code = "job_active"
    default_message = "This job is still in progress; cancel it before deleting it."


def _size_limit(size: int) -> str:
    megabytes = size / (1024 * 1024)
    return f"{size} bytes ({round(megabytes, 1):g} MB)" if megabytes >= 1 else f"{size} bytes"


def base_model_errors(base_model: str | None) -> list[str]:
    """What is wrong with a base model name (empty when nothing is)."""
    if not base_model:
        return ["This field is required."]
    field = FineTuningJob._meta.get_field("base_model")
    if len(base_model) > field.max_length:
        return [f"Ensure this field has no more than {field.max_length} characters."]
    if not BASE_MODEL_PATTERN.match(base_model):
        return [BASE_MODEL_RULE]
    return []


def training_file_errors(training_file: File | None) -> list[str]:
    """What is wrong with a training file's name or size (its content is checked later)."""
    if training_file is None:
        return ["This field is required."]
    extension = os.path.splitext(training_file.name or "")[1].lower()
    if extension not in ALLOWED_EXTENSIONS:
        return [
            "The training file must be JSON Lines with the extension "
            f"{' or '.join(ALLOWED_EXTENSIONS)}; got {extension or 'no extension'}."
        ]
    limit = settings.FINETUNING_MAX_UPLOAD_BYTES
    if training_file.size > limit:
        return [
            f"The training file is {training_file.size} bytes; the limit is {_size_limit(limit)}."
        ]
    return []


QUEUE_UNAVAILABLE = "The job could not be queued (the task broker is unavailable); create it again."


def _enqueue_run(job: FineTuningJob) -> None:
    from .tasks import run_finetuning_job

    job_id = str(job.pk)

    def enqueue():
        try:
            run_finetuning_job.delay(job_id)
        except BrokerError:
            logger.exception("Could not queue fine-tuning job %s", job_id)
            # Without this, a job nobody will ever run would stay queued forever.
            _finish(job, from_statuses={Status.QUEUED}, to=Status.FAILED, error=QUEUE_UNAVAILABLE)

    transaction.on_commit(enqueue)


def finetuning_job_create(
    *,
    organization: Organization,
    created_by: User | None,
    base_model: str,
    training_file: File | None,
    hyperparameters: dict | None = None,
) -> FineTuningJob:
    """Store a training file and queue a job that validates it and trains on it.

    Every input is checked before anything is written; a refusal is a
    ValidationError naming each bad field. The job uses the provider that
    FINETUNING_PROVIDER names now.
    """
    errors = {}
    if messages := base_model_errors(base_model):
        errors["base_model"] = messages
    if messages := training_file_errors(training_file):
        errors["training_file"] = messages
    try:
        hyperparameters = clean_hyperparameters(hyperparameters)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)

    def fit(field_name: str, value: str) -> str:
        return value[: FineTuningJob._meta.get_field(field_name).max_length]

    job = FineTuningJob(
        organization=organization,
        created_by=created_by,
        base_model=base_model,
        training_file_name=fit("training_file_name", os.path.basename(training_file.name)),
        hyperparameters=hyperparameters,
        provider=fit("provider", settings.FINETUNING_PROVIDER),
    )
    with transaction.atomic():
        job.training_file.save(job.training_file_name, training_file, save=False)
        try:
            job.save()
        except Exception:
            # The row was not written: do not leave its file behind.
            job.training_file.delete(save=False)
            raise
        _enqueue_run(job)
    return job


def _move(job: FineTuningJob, *, from_statuses, to: str, **fields) -> bool:
    """Change the status only if it still is one of `from_statuses`; whether it did."""
    now = timezone.now()
    changes = {"status": to, "updated_at": now, **fields}
    if to not in ACTIVE_STATUSES:
        changes["finished_at"] = now
    updated = FineTuningJob.objects.filter(pk=job.pk, status__in=from_statuses).update(**changes)
    if updated:
        for name, value in changes.items():
            setattr(job, name, value)
    return bool(updated)


def _finish(job: FineTuningJob, *, from_statuses, to: str, **fields) -> bool:
    """End the job (if nobody else has) and tell the platform, exactly once."""
    if not _move(job, from_statuses=from_statuses, to=to, **fields):
        return False
    logger.info("Fine-tuning job %s ended %s", job.pk, to)
    send_job_finished(job=job, outcome=to)
    return True


def _validate_and_train(job: FineTuningJob) -> None:
    if not _move(
        job, from_statuses={Status.QUEUED}, to=Status.VALIDATING, started_at=timezone.now()
    ):
        return
    try:
        with job.training_file.open("rb") as stream:
            stats = validate_training_file(stream)
    except TrainingFileError as exc:
        _finish(
            job,
            from_statuses={Status.VALIDATING},
            to=Status.FAILED,
            error=exc.message,
            validation_stats=exc.as_stats(),
        )
        return

    if not _move(
        job,
        from_statuses={Status.VALIDATING},
        to=Status.RUNNING,
        validation_stats=stats.as_dict(),
    ):
        return
    try:
        provider = get_provider(job.provider)
    except UnknownProviderError as exc:
        _finish(job, from_statuses={Status.RUNNING}, to=Status.FAILED, error=str(exc))
        return
    outcome = provider.start(job=job, stats=stats)
    _finish(
        job,
        from_statuses={Status.RUNNING},
        to=outcome.status,
        result=outcome.result,
        error=outcome.error,
    )


def finetuning_job_run(*, job_id: str) -> FineTuningJob | None:
    """Validate a queued job's training file, then train through its provider.

    Before each stage the job must still be in the status the previous stage
    left it in, so a cancel in between wins and the run stops there. Any
    unexpected exception is logged and ends the job failed, never stuck.
    """
    job = FineTuningJob.objects.select_related("organization").filter(pk=job_id).first()
    if job is None:
        logger.info("Fine-tuning job %s no longer exists; nothing to run", job_id)
        return None
    if job.status in {Status.VALIDATING, Status.RUNNING}:
        # Only a run that died without finishing leaves these behind (the broker
        # redelivers its unacknowledged message): end the job instead of redoing it.
        logger.warning("Fine-tuning job %s was left %s by a lost worker", job.pk, job.status)
        _finish(job, from_statuses={job.status}, to=Status.FAILED, error=WORKER_LOST)
        return job
    if job.status != Status.QUEUED:
        logger.info("Fine-tuning job %s is %s; nothing to run", job.pk, job.status)
        return job
    try:
        _validate_and_train(job)
    except Exception:
        logger.exception("Fine-tuning job %s failed unexpectedly", job.pk)
        _finish(job, from_statuses=ACTIVE_STATUSES, to=Status.FAILED, error=INTERNAL_ERROR)
    return job


def finetuning_job_cancel(*, job: FineTuningJob, cancelled_by: User) -> FineTuningJob:
    """Stop a job that has not finished; a finished job cannot be cancelled (409)."""
    if not _finish(job, from_statuses=ACTIVE_STATUSES, to=Status.CANCELLED):
        job.refresh_from_db()
        raise JobFinishedError(
            f"This job has already finished ({job.status}); "
            "only a queued, validating or running job can be cancelled."
        )
    logger.info("Fine-tuning job %s cancelled by user %s", job.pk, cancelled_by.pk)
    return job


@transaction.atomic
def finetuning_job_delete(*, job: FineTuningJob) -> None:
    """Delete a finished job and its stored training file; an active one is refused (409)."""
    # Finished is final, so the check and the delete in one statement cannot race the task.
    deleted, _ = FineTuningJob.objects.filter(
        pk=job.pk, status__in=FineTuningJob.FINISHED_STATUSES
    ).delete()
    if not deleted:
        status = FineTuningJob.objects.filter(pk=job.pk).values_list("status", flat=True).first()
        if status is None:
            return  # deleted meanwhile by another request: nothing left to do
        raise JobActiveError(f"This job is still {status}; cancel it before deleting it.")
    storage, name = job.training_file.storage, job.training_file.name
    if name:
        transaction.on_commit(lambda: storage.delete(name))
