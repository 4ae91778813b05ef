from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.access.policy import api_key_of
from apps.apikeys import selectors, services
from apps.apikeys.models import ApiKey, ApiKeyPolicy
from apps.organizations.api.base import OrganizationScopedViewSet

from .filters import ApiKeyFilter
from .serializers import (
    ApiKeyCreateSerializer,
    ApiKeyPolicySerializer,
    ApiKeyRotateSerializer,
    ApiKeySerializer,
    ApiKeyUpdateSerializer,
    IssuedApiKeySerializer,
    RotatedApiKeySerializer,
)

# Responses that carry a full key must not be kept by any cache.
NO_STORE = {"Cache-Control": "no-store"}


@extend_schema_view(
    list=extend_schema(
        summary="List the API keys of an organization (yours, or all if you manage)"
    ),
    retrieve=extend_schema(summary="Read an API key"),
    create=extend_schema(
        summary="Create an API key (the full key is in this response only)",
        request=ApiKeyCreateSerializer,
        responses={201: IssuedApiKeySerializer},
    ),
    partial_update=extend_schema(
        summary="Rename an API key or narrow it",
        request=ApiKeyUpdateSerializer,
        responses={200: ApiKeySerializer},
    ),
    destroy=extend_schema(
        summary="Revoke an API key (the record stays)",
        responses={204: OpenApiResponse(description="Revoked.")},
    ),
    revoke=extend_schema(
        summary="Revoke an API key", request=None, responses={200: ApiKeySerializer}
    ),
    rotate=extend_schema(
        summary="Rotate an API key: a new key now, the old one until the grace period ends",
        request=ApiKeyRotateSerializer,
        responses={201: RotatedApiKeySerializer},
    ),
)
@extend_schema(tags=["api keys"])
class ApiKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """API keys: programs act with them as their creator, within the key's scopes.

    Members who hold `api_keys:manage` see and act on every key of the
    organization; others only on keys they created.
    """

    queryset = ApiKey.objects.all()
    serializer_class = ApiKeySerializer
    filter_backends = [DjangoFilterBackend]
    filterset_class = ApiKeyFilter
    access = {
        "list": Requires(perm("api_keys", "read")),
        "retrieve": Requires(perm("api_keys", "read")),
        "create": Requires(perm("api_keys", "create")),
        "partial_update": Requires(
            perm("api_keys", "update"), policy=services.is_own_key_or_manages_keys
        ),
        "destroy": Requires(perm("api_keys", "delete"), policy=services.is_own_key_or_manages_keys),
        "revoke": Requires(perm("api_keys", "delete"), policy=services.is_own_key_or_manages_keys),
        "rotate": Requires(perm("api_keys", "create"), policy=services.is_own_key_or_manages_keys),
    }

    @property
    def rate_limit_scope(self) -> str:
        """Issuing keys is counted against the stricter "auth" budget of the rate limiter."""
        return "auth" if getattr(self, "action", None) in ("create", "rotate") else "default"

    def get_serializer_class(self):
        # What each action reads (also the forms of the browsable API).
        return {
            "create": ApiKeyCreateSerializer,
            "partial_update": ApiKeyUpdateSerializer,
            "rotate": ApiKeyRotateSerializer,
        }.get(self.action, ApiKeySerializer)

    def get_organization_queryset(self):
        return selectors.api_key_list(organization=self.organization)

    def get_queryset(self):
        queryset = super().get_queryset()
        if getattr(self, "swagger_fake_view", False):
            return queryset
        if not services.may_manage_keys(self.member_access):
            queryset = queryset.filter(created_by=self.member_access.user)
        return queryset

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        key, raw_key = services.api_key_create(
            access=self.member_access,
            acting_key=api_key_of(request),
            **serializer.validated_data,
        )
        body = IssuedApiKeySerializer(self.reload(key), context={"raw_key": raw_key}).data
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)

    def partial_update(self, request, *args, **kwargs):
        key = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        changes = dict(serializer.validated_data)
        if "expiry_date" in changes:  # the field is read from the model's expiry_date
            changes["expires_at"] = changes.pop("expiry_date")
        key = services.api_key_update(key=key, acting_user=request.user, **changes)
        return Response(ApiKeySerializer(self.reload(key)).data)

    def destroy(self, request, *args, **kwargs):
        services.api_key_revoke(key=self.get_object(), acting_user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def revoke(self, request, *args, **kwargs):
        key = services.api_key_revoke(key=self.get_object(), acting_user=request.user)
        return Response(ApiKeySerializer(self.reload(key)).data)

    @action(detail=True, methods=["post"])
    def rotate(self, request, *args, **kwargs):
        key = self.get_object()
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        replacement, raw_key = services.api_key_rotate(
            key=key,
            access=self.member_access,
            grace_hours=serializer.validated_data.get("grace_hours"),
            acting_key=api_key_of(request),
        )
        context = {"raw_key": raw_key, "rotated_from": self.reload(key)}
        body = RotatedApiKeySerializer(self.reload(replacement), context=context).data
        return Response(body, status=status.HTTP_201_CREATED, headers=NO_STORE)


@extend_schema_view(
    retrieve=extend_schema(summary="Read the organization's API key policy"),
    update=extend_schema(summary="Set the organization's API key policy"),
    partial_update=extend_schema(summary="Change the organization's API key policy"),
)
@extend_schema(tags=["api keys"])
class ApiKeyPolicyViewSet(OrganizationScopedViewSet):
    """The organization's rules for new API keys: a maximum lifetime, set by Owners and Admins."""

    queryset = ApiKeyPolicy.objects.all()
    serializer_class = ApiKeyPolicySerializer
    filter_backends = []
    pagination_class = None
    access = {
        "retrieve": Requires(perm("api_keys", "read")),
        "update": Requires(perm("api_keys", "manage")),
        "partial_update": Requires(perm("api_keys", "manage")),
    }

    def get_object(self):
        policy = services.api_key_policy_of(self.organization)
        self.check_object_permissions(self.request, policy)
        return policy

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    def update(self, request, *args, partial=False, **kwargs):
        policy = self.get_object()
        serializer = self.get_serializer(policy, data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        policy = services.api_key_policy_set(
            organization=self.organization,
            acting_user=request.user,
            max_lifetime_days=serializer.validated_data.get(
                "max_lifetime_days", policy.max_lifetime_days
            ),
        )
        return Response(self.get_serializer(policy).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)
