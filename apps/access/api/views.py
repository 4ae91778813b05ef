from django.db.models import Count, Model, Q
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from apps.access import grants, services
from apps.access.catalog import permission_name as perm
from apps.access.models import Role
from apps.organizations.api.base import OrganizationScopedViewSet

from .permissions import Requires
from .serializers import (
    GrantCreateSerializer,
    GrantSerializer,
    RoleSerializer,
    RoleUpdateSerializer,
)


class GrantViewSet(mixins.ListModelMixin, OrganizationScopedViewSet):
    """Who has been granted what on one object; shared by callers who manage that object.

    Concrete classes come from `grant_viewset_for(model, resource)`.
    """

    serializer_class = GrantSerializer
    parent_url_kwarg = "object_id"
    lookup_url_kwarg = "grant_id"
    ordering = None
    filter_backends = []

    def get_queryset(self):
        return self.parent_model.objects.none()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(grants.grant_list(obj=self.parent))
        return self.get_paginated_response(GrantSerializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        serializer = GrantCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        created = grants.grants_create(
            obj=self.parent, access=self.member_access, **serializer.validated_data
        )
        return Response(GrantSerializer(created, many=True).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        grant = grants.grant_get(obj=self.parent, grant_id=self.kwargs[self.lookup_url_kwarg])
        if grant is None:
            raise NotFound()
        grants.grant_revoke(grant=grant, access=self.member_access)
        return Response(status=status.HTTP_204_NO_CONTENT)


def grant_viewset_for(model: type[Model], resource: str) -> type[GrantViewSet]:
    """The grants endpoint of one shareable model: `…/<resource>/{object_id}/grants/`."""
    manage = Requires(perm(resource, "manage"))
    object_id = OpenApiParameter("object_id", str, OpenApiParameter.PATH, description="The id.")
    grant_id = OpenApiParameter("grant_id", str, OpenApiParameter.PATH, description="Grant id.")
    label = model._meta.verbose_name
    viewset = type(
        f"{model.__name__}GrantViewSet",
        (GrantViewSet,),
        {
            "__doc__": f"Grants on one {label}: chosen actions for a member or a role.",
            "__module__": __name__,
            "parent_model": model,
            "queryset": model.objects.none(),
            "access": {"list": manage, "create": manage, "destroy": manage},
        },
    )
    return extend_schema_view(
        list=extend_schema(summary=f"List the grants on a {label}", parameters=[object_id]),
        create=extend_schema(
            summary=f"Grant actions on a {label} to a member or a role",
            parameters=[object_id],
            request=GrantCreateSerializer,
            responses={201: GrantSerializer(many=True)},
        ),
        destroy=extend_schema(
            summary=f"Revoke a grant on a {label}", parameters=[object_id, grant_id]
        ),
    )(extend_schema(tags=["grants"])(viewset))


@extend_schema_view(
    list=extend_schema(summary="List the roles members can hold here"),
    create=extend_schema(summary="Define a custom role (no wider than your own)"),
    retrieve=extend_schema(summary="Read a role"),
    update=extend_schema(summary="Change a custom role", request=RoleUpdateSerializer),
    partial_update=extend_schema(summary="Change a custom role", request=RoleUpdateSerializer),
    destroy=extend_schema(summary="Delete a custom role no member holds"),
)
@extend_schema(tags=["roles"])
class RoleViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    """The built-in roles and the organization's custom roles."""

    queryset = Role.objects.none()
    serializer_class = RoleSerializer
    filter_backends = []
    access = {
        "list": Requires(perm("members", "read")),
        "retrieve": Requires(perm("members", "read")),
        "create": Requires(perm("members", "manage")),
        "update": Requires(perm("members", "manage")),
        "partial_update": Requires(perm("members", "manage")),
        "destroy": Requires(perm("members", "manage")),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        if not self.member_access.has(perm("members", "read")):
            return Role.objects.none()
        organization = self.organization
        return (
            Role.objects.available_to(organization)
            .select_related("group")
            .prefetch_related("group__permissions")
            .annotate(
                member_count=Count("memberships", filter=Q(memberships__organization=organization))
            )
            .order_by("organization_id", "key")
        )

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return RoleUpdateSerializer
        return RoleSerializer

    def perform_create(self, serializer):
        data = serializer.validated_data
        role = services.role_create(
            access=self.member_access,
            key=data["key"],
            name=data["name"],
            description=data.get("description", ""),
            permissions=data["permission_names"],
        )
        serializer.instance = self.get_queryset().get(pk=role.pk)

    def perform_update(self, serializer):
        data = serializer.validated_data
        role = services.role_update(
            role=serializer.instance,
            access=self.member_access,
            name=data.get("name"),
            description=data.get("description"),
            permissions=data.get("permission_names"),
        )
        serializer.instance = self.get_queryset().get(pk=role.pk)

    def perform_destroy(self, instance):
        services.role_delete(role=instance, access=self.member_access)
