"""The one DRF permission class of the API, and the rules views declare for it.

Each view declares `access`: a mapping from its actions (viewset action names,
or lowercase HTTP methods for plain API views) to a rule. An action that is not
declared is denied, and so is every view that declares nothing (`DenyAll` is
the project-wide default).

    access = {
        "list": Requires(perm("members", "read")),
        "destroy": Requires(perm("members", "delete"), or_object=is_own_membership),
    }
"""

from collections.abc import Callable
from dataclasses import dataclass

from rest_framework.permissions import BasePermission

from apps.access.catalog import role_has_permission


class DenyAll(BasePermission):
    """The default for views that declare nothing: nobody may do anything."""

    def has_permission(self, request, view):
        return False


class Rule:
    """What an action needs. Subclasses answer for the request and, if needed, the object."""

    def has_permission(self, request, view) -> bool:
        raise NotImplementedError

    def has_object_permission(self, request, view, obj) -> bool:
        return True


class _Public(Rule):
    """Anyone, signed in or not."""

    def has_permission(self, request, view) -> bool:
        return True

    def __repr__(self):
        return "PUBLIC"


class _Authenticated(Rule):
    """Any signed-in caller: for actions with no organization yet (list mine, create one)."""

    def has_permission(self, request, view) -> bool:
        return bool(request.user and request.user.is_authenticated)

    def __repr__(self):
        return "AUTHENTICATED"


PUBLIC = _Public()
AUTHENTICATED = _Authenticated()

ObjectPolicy = Callable[[object, object], bool]


@dataclass(frozen=True)
class Requires(Rule):
    """A permission in the organization named by the URL.

    The caller must be a member (otherwise the organization does not exist for
    them: 404) whose role holds `permission` (otherwise 403). `or_object` is a
    policy that may allow the action on one object without the permission,
    such as a member leaving an organization by deleting their own membership.
    """

    permission: str
    or_object: ObjectPolicy | None = None

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        membership = view.membership  # resolving it answers 404 to non-members
        if role_has_permission(membership.role, self.permission):
            return True
        # Without the permission, only an object policy can still allow it.
        return self.or_object is not None and view.action_targets_object()

    def has_object_permission(self, request, view, obj) -> bool:
        if role_has_permission(view.membership.role, self.permission):
            return True
        return self.or_object is not None and self.or_object(request, obj)


def action_of(request, view) -> str:
    action = getattr(view, "action", None)
    if action:
        return action
    method = request.method.lower()
    return "get" if method == "head" else method


class DeclaredAccess(BasePermission):
    """Enforce the `access` rules a view declares; anything undeclared is denied."""

    def _rule(self, request, view) -> Rule | None:
        return getattr(view, "access", {}).get(action_of(request, view))

    def has_permission(self, request, view) -> bool:
        if request.method not in view.allowed_methods:
            # Let DRF answer 405: nothing can be done through a method the view lacks.
            return True
        rule = self._rule(request, view)
        return rule is not None and rule.has_permission(request, view)

    def has_object_permission(self, request, view, obj) -> bool:
        rule = self._rule(request, view)
        return rule is not None and rule.has_object_permission(request, view, obj)
