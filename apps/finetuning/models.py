from django.db import models

from apps.access import catalog
from apps.organizations.models import OrganizationOwnedModel


def training_file_upload_to(job: "FineTuningJob", filename: str) -> str:
    return f"finetuning/{job.organization_id}/{job.id}.jsonl"


class FineTuningJob(OrganizationOwnedModel):
    """Training a base model on a JSONL file of example conversations."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        VALIDATING = "validating", "Validating"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

    base_model = models.CharField(max_length=100)
    training_file = models.FileField(upload_to=training_file_upload_to, max_length=255)
    training_file_name = models.CharField(max_length=255, blank=True)
    hyperparameters = models.JSONField(default=dict, blank=True)
    provider = models.CharField(max_length=50, default="local")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    validation_stats = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("finetuning_jobs")

    def __str__(self):
        return f"{self.base_model} fine-tuning {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES
