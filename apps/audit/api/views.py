from base64 import b64decode
from urllib import parse

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
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.audit import export, selectors, services
from apps.audit.context import printable
from apps.audit.models import AuditEntry
from apps.core.api.pagination import PageSizeInRange, raise_for, whole_number
from apps.organizations.api.base import OrganizationScopedViewSet

from .filters import AuditEntryFilter
from .serializers import AuditEntrySerializer

# A seq fits a bigint: at most 18 digits keeps a crafted position inside it.
_SEQ_DIGITS = 18
# What the export records of each filter's value.
RECORDED_VALUE_MAX = 200


class AuditEntryPagination(PageSizeInRange, CursorPagination):
    """Newest first, by chain position: stable under inserts and fast at any depth.

    The cursor is the client's to tamper with: anything but a cursor this API
    could have handed out (a whole seq, an offset up to `offset_cutoff`, a
    direction of 0 or 1) is a 400 on `cursor`, as a bad `page_size` is.
    """

    ordering = "-seq"
    invalid_cursor_message = "Invalid cursor."

    def cursor_errors(self, request) -> dict:
        try:
            self.decode_cursor(request)
        except ValidationError as exc:
            return exc.detail
        return {}

    def paginate_queryset(self, queryset, request, view=None):
        raise_for(self.page_size_errors(request), self.cursor_errors(request))
        return super().paginate_queryset(queryset, request, view=view)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            decoded = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(decoded, keep_blank_values=True)
        except ValueError:  # not ASCII, not base64, or not a query string
            tokens = None
        if tokens is not None:
            offset = whole_number(tokens.get("o", ["0"])[0])
            reverse = tokens.get("r", ["0"])[0]
            position = tokens.get("p", [None])[0]
            if (
                offset is not None
                and offset <= self.offset_cutoff
                and reverse in ("0", "1")
                and (position is None or _is_seq(position))
            ):
                return Cursor(offset=offset, reverse=reverse == "1", position=position)
        raise ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})


def _is_seq(position: str) -> bool:
    return len(position) <= _SEQ_DIGITS and whole_number(position) is not None


def _recorded_value(value: str) -> str:
    """A filter's value as an export's entry keeps it: no control characters, capped.

    The entry's data is jsonb on PostgreSQL, which refuses NUL.
    """
    return printable(value[:RECORDED_VALUE_MAX])


def recorded_filters(query_params) -> dict:
    """The export's filters, as its audit entry names them: the filter set's own, nothing else."""
    return {
        name: _recorded_value(query_params[name])
        for name in AuditEntryFilter.base_filters
        if name in query_params
    }


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
        recorded = services.audit_log_export_record(
            organization=self.organization,
            file_format=file_format,
            filters=recorded_filters(request.query_params),
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
