from drf_spectacular.utils import extend_schema, extend_schema_view

from apps.organizations.api.base import OrganizationContentViewSet, crud_access
from apps.tools import services
from apps.tools.models import Tool

from .filters import ToolFilter
from .serializers import ToolSerializer


@extend_schema_view(
    list=extend_schema(summary="List the tools of an organization"),
    create=extend_schema(summary="Create a tool"),
    retrieve=extend_schema(summary="Read a tool (never its credentials)"),
    update=extend_schema(summary="Update a tool"),
    partial_update=extend_schema(summary="Update a tool partly"),
    destroy=extend_schema(summary="Delete a tool (agents that use it lose it)"),
)
@extend_schema(tags=["tools"])
class ToolViewSet(OrganizationContentViewSet):
    """Tools agents can call. Credentials are write-only: never returned."""

    queryset = Tool.objects.all()
    serializer_class = ToolSerializer
    filterset_class = ToolFilter
    ordering_fields = ("name", "created_at", "kind")
    ordering = ("name",)
    access = crud_access("tools")

    def perform_create(self, serializer):
        serializer.instance = services.tool_create(
            organization=self.organization,
            created_by=self.request.user,
            **serializer.validated_data,
        )

    def perform_update(self, serializer):
        serializer.instance = services.tool_update(
            tool=serializer.instance,
            acting_user=self.request.user,
            **serializer.validated_data,
        )

    def perform_destroy(self, instance):
        services.tool_delete(tool=instance, acting_user=self.request.user)
