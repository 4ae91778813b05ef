from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.response import Response

from apps.access import policy
from apps.access.api.permissions import AUTHENTICATED, Requires
from apps.access.catalog import permission_name as perm
from apps.organizations import selectors, services
from apps.organizations.models import Membership, Organization

from .base import OrganizationScopedViewSet
from .filters import MembershipFilter, OrganizationFilter
from .serializers import (
    MembershipCreateSerializer,
    MembershipSerializer,
    MembershipUpdateSerializer,
    OrganizationSerializer,
)


@extend_schema_view(
    list=extend_schema(summary="List the organizations I belong to"),
    create=extend_schema(summary="Create an organization (I become its Owner)"),
    retrieve=extend_schema(summary="Read an organization"),
    update=extend_schema(summary="Update an organization"),
    partial_update=extend_schema(summary="Update an organization partly"),
    destroy=extend_schema(summary="Delete an organization and everything it owns"),
)
@extend_schema(tags=["organizations"])
class OrganizationViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    queryset = Organization.objects.none()
    serializer_class = OrganizationSerializer
    filterset_class = OrganizationFilter
    ordering_fields = ("name", "slug", "created_at")
    ordering = ("name", "slug")
    lookup_field = "slug"
    lookup_url_kwarg = "org_slug"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"
    access = {
        "list": AUTHENTICATED,
        "create": AUTHENTICATED,
        "retrieve": Requires(perm("organization", "read")),
        "update": Requires(perm("organization", "update")),
        "partial_update": Requires(perm("organization", "update")),
        "destroy": Requires(perm("organization", "delete")),
    }

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return self.queryset
        return selectors.organization_list_for_user(user=self.request.user)

    def get_object(self):
        organization = get_object_or_404(self.get_queryset(), pk=self.membership.organization_id)
        self.check_object_permissions(self.request, organization)
        return organization

    def perform_create(self, serializer):
        organization = services.organization_create(
            name=serializer.validated_data["name"],
            slug=serializer.validated_data.get("slug"),
            created_by=self.request.user,
        )
        serializer.instance = self.get_queryset().get(pk=organization.pk)

    def perform_update(self, serializer):
        organization = services.organization_update(
            organization=serializer.instance,
            name=serializer.validated_data.get("name"),
            slug=serializer.validated_data.get("slug"),
        )
        serializer.instance = self.get_queryset().get(pk=organization.pk)

    def perform_destroy(self, instance):
        services.organization_delete(organization=instance)


def is_own_membership(request, membership) -> bool:
    """A member may always leave: delete their own membership (in person, not with an API key)."""
    return membership.user_id == request.user.pk and policy.api_key_of(request) is None


@extend_schema_view(
    list=extend_schema(summary="List the members of an organization"),
    create=extend_schema(
        summary="Add an existing user as a member",
        request=MembershipCreateSerializer,
        responses={201: MembershipSerializer},
    ),
    retrieve=extend_schema(summary="Read a membership"),
    update=extend_schema(
        summary="Change a member's role",
        request=MembershipUpdateSerializer,
        responses={200: MembershipSerializer},
    ),
    partial_update=extend_schema(
        summary="Change a member's role",
        request=MembershipUpdateSerializer,
        responses={200: MembershipSerializer},
    ),
    destroy=extend_schema(summary="Remove a member (or leave the organization)"),
)
@extend_schema(tags=["members"])
class MembershipViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    queryset = Membership.objects.none()
    serializer_class = MembershipSerializer
    filterset_class = MembershipFilter
    ordering_fields = ("created_at", "role__key", "user__email")
    ordering = ("created_at",)
    access = {
        "list": Requires(perm("members", "read")),
        "retrieve": Requires(perm("members", "read")),
        "create": Requires(perm("members", "create")),
        "update": Requires(perm("members", "update")),
        "partial_update": Requires(perm("members", "update")),
        "destroy": Requires(perm("members", "delete"), or_object=is_own_membership),
    }

    def get_organization_queryset(self):
        return selectors.membership_list(organization=self.organization)

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.action == "destroy":
            # A member may always leave, whether or not their role reads the member list.
            own = selectors.membership_list(organization=self.organization).filter(
                pk=self.membership.pk
            )
            queryset = queryset | own
        return queryset

    def create(self, request, *args, **kwargs):
        serializer = MembershipCreateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        membership = services.membership_add(
            organization=self.organization,
            acting=self.membership,
            acting_scope=self.member_access.scope,
            **serializer.validated_data,
        )
        return Response(MembershipSerializer(membership).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        membership = self.get_object()
        serializer = MembershipUpdateSerializer(
            data=request.data, context=self.get_serializer_context()
        )
        serializer.is_valid(raise_exception=True)
        membership = services.membership_change_role(
            membership=membership,
            role=serializer.validated_data["role"],
            acting=self.membership,
            acting_scope=self.member_access.scope,
        )
        return Response(MembershipSerializer(membership).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, **kwargs)

    def perform_destroy(self, instance):
        services.membership_remove(
            membership=instance, acting=self.membership, acting_scope=self.member_access.scope
        )
