from django.db import models

from apps.access import catalog
from apps.access.models import RoleGrantBase, UserGrantBase
from apps.organizations.models import OrganizationOwnedModel


class Workflow(OrganizationOwnedModel):
    """A named graph of steps, defined in JSON and validated on write.

    definition = {"steps": [{"name": "a", "kind": "transform", "config": {...},
                             "depends_on": []}, ...]}
    """

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, max_length=4000)
    definition = models.JSONField(default=dict)
    is_active = models.BooleanField(default=True)

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("workflows")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="workflows_workflow_unique_name"
            ),
        ]

    def __str__(self):
        return self.name


class WorkflowRun(OrganizationOwnedModel):
    """One execution of a workflow: queued -> running -> succeeded / failed / cancelled."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED_STATUSES = frozenset({Status.SUCCEEDED, Status.FAILED, Status.CANCELLED})

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    # The workflow's definition when the run started: editing the workflow later
    # does not change what a queued run executes or how its results read.
    definition = models.JSONField(default=dict, blank=True)
    input = models.JSONField(default=dict, blank=True)
    output = models.JSONField(null=True, blank=True)
    step_results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    failed_step = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField(max_length=255, blank=True)

    class Meta(OrganizationOwnedModel.Meta):
        indexes = [models.Index(fields=["workflow", "-created_at"])]

    def __str__(self):
        return f"{self.workflow} run {self.id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED_STATUSES


class WorkflowUserGrant(UserGrantBase):
    """An action on one workflow granted to one member."""

    content_object = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="user_grants"
    )


class WorkflowRoleGrant(RoleGrantBase):
    """An action on one workflow granted to every member holding a role."""

    content_object = models.ForeignKey(
        Workflow, on_delete=models.CASCADE, related_name="role_grants"
    )
