from django.http import Http404, StreamingHttpResponse
from django.utils import timezone
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.audit import export, selectors, services
from apps.audit.models import AuditEntry
from apps.organizations.api.base import OrganizationScopedViewSet

from .filters import AuditEntryFilter
from .serializers import AuditEntrySerializer


class AuditEntryPagination(CursorPagination):
    """Newest first, by chain position: stable under inserts and fast at any depth."""

    ordering = "-seq"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200


class _ExportRenderer(BaseRenderer):
    """Names an export format for content negotiation; the view streams the body itself."""

    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise NotImplementedError("Exports are streamed by the view, never rendered.")


class CSVRenderer(_ExportRenderer):
    media_type = "text/csv"
    format = "csv"


class JSONLinesRenderer(_ExportRenderer):
    media_type = "application/x-ndjson"
    format = "jsonl"


EXPORTS = {
    "csv": (export.stream_csv, "text/csv; charset=utf-8"),
    "jsonl": (export.stream_jsonl, "application/x-ndjson; charset=utf-8"),
}

FORMAT_PARAMETER = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=list(EXPORTS), description="csv (default) or jsonl"
)


@extend_schema_view(
    list=extend_schema(summary="List the organization's audit entries, newest first"),
    retrieve=extend_schema(summary="Read one audit entry"),
    export=extend_schema(
        summary="Export audit entries (oldest first) as CSV or JSON Lines, streamed",
        parameters=[FORMAT_PARAMETER],
        responses={
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR),
            (200, "application/x-ndjson"): OpenApiResponse(OpenApiTypes.STR),
        },
    ),
)
@extend_schema(tags=["audit log"])
class AuditEntryViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet
):
    """The organization's audit log: read-only for everyone, staff included."""

    queryset = AuditEntry.objects.all()
    serializer_class = AuditEntrySerializer
    pagination_class = AuditEntryPagination
    filter_backends = [DjangoFilterBackend]
    filterset_class = AuditEntryFilter
    lookup_value_regex = r"[0-9]{1,18}"
    access = {
        "list": Requires(perm("audit_logs", "read")),
        "retrieve": Requires(perm("audit_logs", "read")),
        "export": Requires(perm("audit_logs", "read")),
    }

    def get_organization_queryset(self):
        return selectors.audit_entry_list(organization=self.organization)

    def perform_content_negotiation(self, request, force=False):
        try:
            return super().perform_content_negotiation(request, force=force)
        except Http404:
            choices = ", ".join(EXPORTS) if self.action == "export" else "json"
            raise ValidationError(
                {"format": [f"Unknown format. Choose from: {choices}."]}
            ) from None

    def finalize_response(self, request, response, *args, **kwargs):
        # An export's refusal (403, 400, 429) is the usual JSON error, not a CSV; so is a
        # refusal of the format itself, raised before any renderer was accepted.
        renderer = getattr(request, "accepted_renderer", None)
        if isinstance(response, Response) and (
            renderer is None or isinstance(renderer, _ExportRenderer)
        ):
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @action(detail=False, methods=["get"], renderer_classes=[CSVRenderer, JSONLinesRenderer])
    def export(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        file_format = request.accepted_renderer.format
        filters = {key: value for key, value in request.query_params.items() if key != "format"}
        recorded = services.audit_log_export_record(
            organization=self.organization, file_format=file_format, filters=filters
        )
        stream, content_type = EXPORTS[file_format]
        response = StreamingHttpResponse(
            stream(queryset.filter(seq__lte=recorded.seq)), content_type=content_type
        )
        stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
        response["Content-Disposition"] = (
            f'attachment; filename="audit-{self.organization.slug}-{stamp}.{file_format}"'
        )
        response["Cache-Control"] = "no-store"
        return response
