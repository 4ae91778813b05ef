"""The base of every API view that lives under `/api/v1/orgs/{org_slug}/`."""

from functools import cached_property

from rest_framework import mixins
from rest_framework.exceptions import NotFound
from rest_framework.viewsets import GenericViewSet

from apps.access.api.permissions import DeclaredAccess, Requires
from apps.access.catalog import permission_name as perm
from apps.organizations.models import Membership, Organization
from apps.organizations.selectors import membership_for_user

UUID_LOOKUP_REGEX = (
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


class OrganizationScopedViewSet(GenericViewSet):
    """A viewset of objects that belong to the organization named in the URL.

    The organization is looked up once, among the caller's memberships: for a
    non-member it does not exist (404, the same answer as for a missing one).
    `get_queryset` is narrowed to that organization here, in one place;
    subclasses say which objects they list through `get_organization_queryset`.
    Each subclass declares `access`, the rule of each action; undeclared
    actions are denied.
    """

    permission_classes = [DeclaredAccess]
    access: dict = {}
    organization_url_kwarg = "org_slug"
    lookup_value_regex = UUID_LOOKUP_REGEX

    @cached_property
    def membership(self) -> Membership:
        membership = membership_for_user(
            user=self.request.user,
            organization_slug=self.kwargs.get(self.organization_url_kwarg, ""),
        )
        if membership is None:
            raise NotFound()
        return membership

    @property
    def organization(self) -> Organization:
        return self.membership.organization

    def action_targets_object(self) -> bool:
        return bool(getattr(self, "detail", False))

    def get_organization_queryset(self):
        """The objects of this view's type, before narrowing to the organization."""
        raise NotImplementedError

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return self.queryset
        return self.get_organization_queryset().filter(organization=self.organization)


def crud_access(resource: str, **overrides) -> dict:
    """The usual rules of a viewset over one resource: read, create, update, delete."""
    read = Requires(perm(resource, "read"))
    update = Requires(perm(resource, "update"))
    return {
        "list": read,
        "retrieve": read,
        "create": Requires(perm(resource, "create")),
        "update": update,
        "partial_update": update,
        "destroy": Requires(perm(resource, "delete")),
        **overrides,
    }


class OrganizationContentViewSet(
    mixins.ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    # CRUD over one kind of object an organization owns. Subclasses set `queryset`
    # (the schema's model and the base of every query), `serializer_class`,
    # `access = crud_access("<resource>")`, and write through their app's services in
    # perform_create / perform_update / perform_destroy. (A comment, not a docstring:
    # the schema would show a docstring as every subclass's description.)

    def get_organization_queryset(self):
        return self.queryset.all()
