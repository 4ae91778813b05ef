from django.contrib.auth.backends import BaseBackend

from . import catalog, policy

# Objects whose permissions are those of their parent (nested in the API the same way).
PARENT_FIELDS = {
    "knowledge.Document": "knowledge_base",
    "workflows.WorkflowRun": "workflow",
    "conversations.Message": "conversation",
}


def _resource_object(obj, codename: str):
    """The object that carries `codename`'s resource: `obj`, its parent, or None."""
    resource = catalog.resource_of(codename)
    if resource not in catalog.RESOURCE_MODELS:
        return None
    expected = catalog.RESOURCE_MODELS[resource]
    if obj._meta.label == expected:
        return obj
    parent_field = PARENT_FIELDS.get(obj._meta.label)
    if parent_field is not None:
        parent = getattr(obj, parent_field)
        if parent._meta.label == expected:
            return parent
    return None


class OrganizationPermissionBackend(BaseBackend):
    """`user.has_perm("agents.agents:update", agent)` for the platform's permissions.

    Answers for objects of an organization (and the organization itself) from
    the user's role there and the grants on the object (for a document, run or
    message: on its parent), as the API's permission check does. Policies that
    need the request (a conversation deleted by its owner) and the membership
    rules of the services are the API's alone. Without an object, for the
    wrong kind of object, or for a non-member, the answer is no: `is_staff` and
    global groups give nobody access to an organization's data.
    """

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None or not user_obj.is_active or not user_obj.is_authenticated:
            return False
        codename = perm.partition(".")[2]
        if catalog.resource_of(codename) not in catalog.RESOURCE_MODELS:
            return False
        if catalog.django_permission_name(codename) != perm:
            return False
        obj = _resource_object(obj, codename)
        if obj is None:
            return False
        organization = getattr(obj, "organization", None)
        if organization is None and obj._meta.label == "organizations.Organization":
            organization = obj
        if organization is None:
            return False
        access = policy.member_access(user=user_obj, organization_slug=organization.slug)
        return access is not None and access.has_on(obj, codename)
