"""Reads of workflows and their runs."""

from django.db.models import QuerySet

from apps.organizations.models import Organization

from .models import Workflow, WorkflowRun


def workflow_list(*, organization: Organization) -> QuerySet[Workflow]:
    return Workflow.objects.filter(organization=organization).select_related("created_by")


def workflow_run_list(*, workflow: Workflow) -> QuerySet[WorkflowRun]:
    return WorkflowRun.objects.filter(
        workflow=workflow, organization_id=workflow.organization_id
    ).select_related("created_by")


def workflow_has_active_runs(*, workflow: Workflow) -> bool:
    """Whether a run of the workflow is queued or running."""
    return WorkflowRun.objects.filter(
        workflow=workflow,
        status__in=[WorkflowRun.Status.QUEUED, WorkflowRun.Status.RUNNING],
    ).exists()
