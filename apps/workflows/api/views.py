from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.organizations.api.base import (
    OrganizationContentViewSet,
    OrganizationScopedViewSet,
    crud_access,
)
from apps.workflows import selectors, services
from apps.workflows.models import Workflow, WorkflowRun

from .filters import WorkflowFilter, WorkflowRunFilter
from .serializers import WorkflowRunSerializer, WorkflowRunStartSerializer, WorkflowSerializer


@extend_schema_view(
    list=extend_schema(summary="List workflows"),
    create=extend_schema(summary="Create a workflow (its definition is validated)"),
    retrieve=extend_schema(summary="Read a workflow"),
    update=extend_schema(summary="Replace a workflow"),
    partial_update=extend_schema(summary="Update a workflow partly"),
    destroy=extend_schema(summary="Delete a workflow (refused while a run is queued or running)"),
)
@extend_schema(tags=["workflows"])
class WorkflowViewSet(OrganizationContentViewSet):
    queryset = Workflow.objects.select_related("created_by")
    serializer_class = WorkflowSerializer
    filterset_class = WorkflowFilter
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("-created_at",)
    access = crud_access("workflows")

    def get_organization_queryset(self):
        return selectors.workflow_list(organization=self.organization)

    def perform_create(self, serializer):
        serializer.instance = services.workflow_create(
            organization=self.organization,
            created_by=self.request.user,
            **serializer.validated_data,
        )

    def perform_update(self, serializer):
        serializer.instance = services.workflow_update(
            workflow=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.workflow_delete(workflow=instance)


WORKFLOW_ID = OpenApiParameter(
    "workflow_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The workflow's id."
)
RUN_ID = OpenApiParameter(
    "run_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The run's id."
)


@extend_schema_view(
    list=extend_schema(summary="List the runs of a workflow", parameters=[WORKFLOW_ID]),
    retrieve=extend_schema(summary="Read a run", parameters=[WORKFLOW_ID, RUN_ID]),
)
@extend_schema(tags=["workflows"])
class WorkflowRunViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet
):
    """The runs of one workflow, which is looked up in the caller's organization (else 404)."""

    queryset = WorkflowRun.objects.none()
    serializer_class = WorkflowRunSerializer
    filterset_class = WorkflowRunFilter
    ordering_fields = ("created_at",)
    ordering = ("-created_at",)
    lookup_url_kwarg = "run_id"
    access = {
        "list": Requires(perm("workflows", "read")),
        "retrieve": Requires(perm("workflows", "read")),
        "create": Requires(perm("workflows", "create")),
        "cancel": Requires(perm("workflows", "update")),
    }

    parent_model = Workflow
    parent_url_kwarg = "workflow_id"

    @property
    def workflow(self) -> Workflow:
        """The workflow in the URL, among those the caller may see (else 404)."""
        return self.parent

    def get_organization_queryset(self):
        return selectors.workflow_run_list(workflow=self.workflow)

    @extend_schema(
        summary="Start a run (queued; a worker executes it)",
        parameters=[WORKFLOW_ID],
        request=WorkflowRunStartSerializer,
        responses={202: WorkflowRunSerializer},
    )
    def create(self, request, *args, **kwargs):
        serializer = WorkflowRunStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        run = services.workflow_run_start(
            workflow=self.workflow,
            input=serializer.validated_data["input"],
            started_by=request.user,
        )
        return Response(self.get_serializer(run).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        summary="Cancel a run (at once if queued; at the next step or wait slice if running)",
        parameters=[WORKFLOW_ID, RUN_ID],
        request=None,
        responses={200: WorkflowRunSerializer, 202: WorkflowRunSerializer},
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        run = services.workflow_run_cancel(run=self.get_object(), acting_user=request.user)
        # 202 while a running run has yet to notice the request; 200 once it is cancelled.
        code = status.HTTP_200_OK if run.status == WorkflowRun.Status.CANCELLED else 202
        return Response(self.get_serializer(run).data, status=code)
