from django.contrib.auth.backends import BaseBackend

from . import policy


class OrganizationPermissionBackend(BaseBackend):
    """`user.has_perm("agents.agents:update", agent)` for the platform's permissions.

    Answers for objects of an organization (and the organization itself) from
    the user's role there and the grants on the object, exactly as the API
    does. Without an object, or for a non-member, the answer is no: `is_staff`
    and global groups give nobody access to an organization's data.
    """

    def has_perm(self, user_obj, perm, obj=None):
        if obj is None or not user_obj.is_active or not user_obj.is_authenticated:
            return False
        _app_label, _, codename = perm.partition(".")
        if ":" not in codename:
            return False
        organization = getattr(obj, "organization", None)
        if organization is None and obj._meta.label == "organizations.Organization":
            organization = obj
        if organization is None:
            return False
        access = policy.member_access(user=user_obj, organization_slug=organization.slug)
        return access is not None and access.has_on(obj, codename)
