"""The base of every API view that lives under `/api/v1/orgs/{org_slug}/`."""

import uuid
from functools import cached_property

from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from rest_framework import mixins
from rest_framework.exceptions import NotFound
from rest_framework.viewsets import GenericViewSet

from apps.access import catalog, policy
from apps.access.api.permissions import DeclaredAccess, Requires
from apps.access.catalog import permission_name as perm
from apps.access.policy import MemberAccess
from apps.organizations.models import Membership, Organization

UUID_LOOKUP_REGEX = (
    r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
)


class OrganizationScopedViewSet(GenericViewSet):
    """A viewset of objects that belong to the organization named in the URL.

    The caller's access there (`member_access`: membership, role permissions,
    grants) is looked up once, among their memberships: for a non-member the
    organization does not exist (404, the same answer as for a missing one).
    `get_queryset` narrows every query, lists included, to what the caller may
    see, through `apps.access.policy.visible`. Each subclass declares `access`,
    the rule of each action; undeclared actions are denied.

    A nested view (documents of a knowledge base, runs of a workflow) names its
    parent with `parent_model` and `parent_url_kwarg`; the parent is found among
    the objects the caller may see (else 404) and permissions are checked on it.
    """

    permission_classes = [DeclaredAccess]
    access: dict = {}
    organization_url_kwarg = "org_slug"
    lookup_value_regex = UUID_LOOKUP_REGEX
    parent_model: type[Model] | None = None
    parent_url_kwarg: str | None = None

    @cached_property
    def member_access(self) -> MemberAccess:
        access = policy.member_access(
            user=self.request.user,
            organization_slug=self.kwargs.get(self.organization_url_kwarg, ""),
            api_key=policy.api_key_of(self.request),
        )
        if access is None:
            raise NotFound()
        return access

    @property
    def membership(self) -> Membership:
        return self.member_access.membership

    @property
    def organization(self) -> Organization:
        return self.member_access.organization

    @classmethod
    def resource(cls) -> str:
        """The catalog resource this view's permissions are about."""
        resources = {
            catalog.resource_of(rule.permission)
            for rule in cls.access.values()
            if isinstance(rule, Requires)
        }
        if len(resources) != 1:
            raise ImproperlyConfigured(f"{cls.__name__} must require permissions of one resource")
        return resources.pop()

    def action_targets_object(self) -> bool:
        return bool(getattr(self, "detail", False))

    def shares_objects(self) -> bool:
        """Whether this view's objects can be shared one by one (lists narrowed, not refused)."""
        model = getattr(self.queryset, "model", None)
        return self.parent_model is None and model is not None and policy.is_grantable(model)

    @cached_property
    def parent(self) -> Model | None:
        if self.parent_model is None:
            return None
        try:
            parent_id = uuid.UUID(str(self.kwargs.get(self.parent_url_kwarg, "")))
        except ValueError:
            raise NotFound() from None
        candidates = policy.visible(
            self.parent_model.objects.all(), self.member_access, self.resource()
        )
        parent = candidates.filter(pk=parent_id).first()
        if parent is None:
            raise NotFound()
        return parent

    def permission_parent(self) -> Model | None:
        """The object permissions are checked on for a nested view (None for others)."""
        return self.parent

    def get_organization_queryset(self):
        """The objects of this view's type, before narrowing to what the caller may see."""
        raise NotImplementedError

    def reload(self, obj: Model) -> Model:
        """`obj` read back as this view lists it, after a write the caller was allowed to make.

        Not narrowed by read visibility: a role may create what it cannot list.
        """
        return (
            self.get_organization_queryset().filter(organization=self.organization).get(pk=obj.pk)
        )

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no request
            return self.queryset
        queryset = self.get_organization_queryset()
        if self.parent_model is not None:
            # Children of a parent the caller may act on (checked in the permission class).
            return queryset.filter(organization=self.organization)
        return policy.visible(queryset, self.member_access, self.resource())


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
