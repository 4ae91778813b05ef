from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.knowledge import selectors, services
from apps.knowledge.models import Document, KnowledgeBase
from apps.organizations.api.base import (
    OrganizationContentViewSet,
    OrganizationScopedViewSet,
    crud_access,
)

from .filters import DocumentFilter, KnowledgeBaseFilter
from .serializers import (
    ChunkSerializer,
    DocumentSerializer,
    DocumentUpdateSerializer,
    DocumentUploadSerializer,
    KnowledgeBaseReingestSerializer,
    KnowledgeBaseSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List the knowledge bases of an organization"),
    create=extend_schema(summary="Create a knowledge base"),
    retrieve=extend_schema(summary="Read a knowledge base"),
    update=extend_schema(summary="Update a knowledge base (does not re-chunk its documents)"),
    partial_update=extend_schema(summary="Update a knowledge base partly"),
    destroy=extend_schema(summary="Delete a knowledge base, its documents and their files"),
)
@extend_schema(tags=["knowledge bases"])
class KnowledgeBaseViewSet(OrganizationContentViewSet):
    """Collections of documents that agents draw on; needs the knowledge_bases permissions."""

    queryset = KnowledgeBase.objects.all()
    serializer_class = KnowledgeBaseSerializer
    filterset_class = KnowledgeBaseFilter
    ordering_fields = ("name", "created_at", "updated_at", "document_count")
    ordering = ("-created_at",)
    access = crud_access("knowledge_bases", reingest=Requires(perm("knowledge_bases", "update")))

    def get_organization_queryset(self):
        return selectors.knowledge_base_list(organization=self.organization)

    def perform_create(self, serializer):
        knowledge_base = services.knowledge_base_create(
            organization=self.organization,
            created_by=self.request.user,
            **serializer.validated_data,
        )
        # Read back through the list's query, for document_count.
        serializer.instance = self.reload(knowledge_base)

    def perform_update(self, serializer):
        knowledge_base = services.knowledge_base_update(
            knowledge_base=serializer.instance, **serializer.validated_data
        )
        serializer.instance = self.reload(knowledge_base)

    def perform_destroy(self, instance):
        services.knowledge_base_delete(knowledge_base=instance)

    @extend_schema(
        summary="Ingest every document of a knowledge base again, with its current chunk settings",
        request=None,
        responses={202: KnowledgeBaseReingestSerializer},
    )
    @action(detail=True, methods=["post"])
    def reingest(self, request, *args, **kwargs):
        count = services.knowledge_base_reingest(knowledge_base=self.get_object())
        return Response({"documents_queued": count}, status=status.HTTP_202_ACCEPTED)


@extend_schema_view(
    list=extend_schema(summary="List the documents of a knowledge base"),
    create=extend_schema(
        summary="Upload a document (its ingestion is queued)",
        request={"multipart/form-data": DocumentUploadSerializer},
        responses={201: DocumentSerializer},
    ),
    retrieve=extend_schema(summary="Read a document and the state of its ingestion"),
    partial_update=extend_schema(
        summary="Rename a document",
        request=DocumentUpdateSerializer,
        responses={200: DocumentSerializer},
    ),
    destroy=extend_schema(summary="Delete a document, its chunks and its file"),
)
@extend_schema(tags=["documents"])
class DocumentViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    """Files of a knowledge base and their ingestion; needs the knowledge_bases permissions."""

    queryset = Document.objects.all()
    serializer_class = DocumentSerializer
    filterset_class = DocumentFilter
    ordering_fields = ("name", "created_at", "size_bytes", "status", "chunk_count")
    ordering = ("-created_at",)
    lookup_url_kwarg = "document_id"
    access = {
        "list": Requires(perm("knowledge_bases", "read")),
        "retrieve": Requires(perm("knowledge_bases", "read")),
        "chunks": Requires(perm("knowledge_bases", "read")),
        "create": Requires(perm("knowledge_bases", "create")),
        "partial_update": Requires(perm("knowledge_bases", "update")),
        "destroy": Requires(perm("knowledge_bases", "delete")),
    }

    parent_model = KnowledgeBase
    parent_url_kwarg = "knowledge_base_id"

    @property
    def knowledge_base(self) -> KnowledgeBase:
        """The knowledge base in the URL, among those the caller may see (else 404)."""
        return self.parent

    def get_organization_queryset(self):
        return selectors.document_list(knowledge_base=self.knowledge_base)

    def create(self, request, *args, **kwargs):
        upload = DocumentUploadSerializer(data=request.data)
        upload.is_valid(raise_exception=True)
        document = services.document_upload(
            knowledge_base=self.knowledge_base,
            uploaded_file=upload.validated_data["file"],
            created_by=request.user,
        )
        return Response(DocumentSerializer(document).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        document = self.get_object()
        serializer = DocumentUpdateSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        document = services.document_update(document=document, **serializer.validated_data)
        return Response(DocumentSerializer(document).data)

    def perform_destroy(self, instance):
        services.document_delete(document=instance)

    @extend_schema(
        summary="List the chunks of a document, in order",
        responses=ChunkSerializer(many=True),
    )
    @action(detail=True, methods=["get"], filter_backends=[])
    def chunks(self, request, *args, **kwargs):
        document = self.get_object()
        page = self.paginate_queryset(selectors.chunk_list(document=document))
        return self.get_paginated_response(ChunkSerializer(page, many=True).data)
