from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.finetuning import selectors, services
from apps.finetuning.models import FineTuningJob
from apps.organizations.api.base import OrganizationScopedViewSet, crud_access

from .filters import FineTuningJobFilter
from .serializers import (
    FineTuningJobInlineSerializer,
    FineTuningJobSerializer,
    FineTuningJobUploadSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List fine-tuning jobs"),
    create=extend_schema(
        summary="Create a fine-tuning job (queues validation and training)",
        description=(
            "Send the training file as a multipart upload (`training_file`), or send JSON "
            "with the file's content as `training_data` text."
        ),
        request={
            "multipart/form-data": FineTuningJobUploadSerializer,
            "application/json": FineTuningJobInlineSerializer,
        },
        responses={201: FineTuningJobSerializer},
    ),
    retrieve=extend_schema(summary="Read a fine-tuning job"),
    destroy=extend_schema(
        summary="Delete a finished fine-tuning job and its training file",
        responses={
            204: None,
            409: OpenApiResponse(description="The job is still in progress: cancel it first."),
        },
    ),
)
@extend_schema(tags=["fine-tuning"])
class FineTuningJobViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    # No update: a job's inputs are fixed once it is queued; it can only be cancelled.
    queryset = FineTuningJob.objects.none()
    serializer_class = FineTuningJobSerializer
    filterset_class = FineTuningJobFilter
    ordering_fields = ("created_at", "status")
    ordering = ("-created_at",)
    access = crud_access("finetuning_jobs", cancel=Requires(perm("finetuning_jobs", "update")))

    def get_serializer_class(self):
        # The browsable API's form for create is the upload form.
        if self.action == "create":
            return FineTuningJobUploadSerializer
        return FineTuningJobSerializer

    def get_organization_queryset(self):
        return selectors.finetuning_job_list(organization=self.organization)

    def create(self, request, *args, **kwargs):
        if request.content_type.startswith("multipart/"):
            serializer = FineTuningJobUploadSerializer(data=request.data)
        else:
            serializer = FineTuningJobInlineSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        job = services.finetuning_job_create(
            organization=self.organization,
            created_by=request.user,
            **serializer.service_arguments(),
        )
        # Read it back: a task in eager mode may already have moved it on.
        job = self.reload(job)
        return Response(
            FineTuningJobSerializer(job, context=self.get_serializer_context()).data,
            status=status.HTTP_201_CREATED,
        )

    def perform_destroy(self, instance):
        services.finetuning_job_delete(job=instance)

    @extend_schema(
        summary="Cancel a fine-tuning job that has not finished",
        request=None,
        responses={
            200: FineTuningJobSerializer,
            409: OpenApiResponse(description="The job has already finished."),
        },
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request, *args, **kwargs):
        job = services.finetuning_job_cancel(job=self.get_object(), cancelled_by=request.user)
        return Response(self.get_serializer(job).data)
