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
    """Any signed-in person: for actions with no organization yet (list mine, create one).

    Not an API key: a key acts only inside its own organization.
    """

    def has_permission(self, request, view) -> bool:
        is_key = getattr(getattr(request, "auth", None), "is_api_key", False)
        return bool(request.user and request.user.is_authenticated) and not is_key

    def __repr__(self):
        return "AUTHENTICATED"


PUBLIC = _Public()
AUTHENTICATED = _Authenticated()

# or_object(request, obj) -> bool; policy(member_access, obj) -> bool
ObjectPolicy = Callable[[object, object], bool]


@dataclass(frozen=True)
class Requires(Rule):
    """A permission in the organization named by the URL.

    The caller must be a member (otherwise the organization does not exist for
    them: 404). They pass if their role holds `permission`, or, for an object
    that can be shared, if it was granted to them or their role on that object
    (for a nested view: on the parent object in the URL). Otherwise 403.

    `or_object` may allow the action on one object without the permission (a
    member leaving by deleting their own membership); `policy` is a further
    condition on the object when the permission is held (a conversation is
    deleted by its owner, or by someone who manages conversations).
    """

    permission: str
    or_object: ObjectPolicy | None = None
    policy: ObjectPolicy | None = None

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        access = view.member_access  # resolving it answers 404 to non-members
        if access.has(self.permission):
            return True
        parent = view.permission_parent()
        if parent is not None:
            return access.has_on(parent, self.permission)
        if view.shares_objects() and (view.action == "list" or view.action_targets_object()):
            # The list is narrowed to granted objects; a single object is checked below.
            return True
        return self.or_object is not None and view.action_targets_object()

    def has_object_permission(self, request, view, obj) -> bool:
        access = view.member_access
        if view.permission_parent() is not None:
            allowed = True  # decided on the parent in has_permission
        else:
            allowed = access.has_on(obj, self.permission)
        if not allowed:
            return self.or_object is not None and self.or_object(request, obj)
        return self.policy is None or self.policy(access, obj)


def action_of(request, view) -> str:
    """The action whose rule applies: the one this request's method maps to.

    DRF's metadata (OPTIONS) and the browsable API's forms ask the permission
    class about other methods by changing `request.method`; mapping the method
    each time keeps them from advertising what the caller may not do.
    """
    method = request.method.lower()
    action_map = getattr(view, "action_map", None)
    if action_map is not None:
        if method in action_map:
            return action_map[method]
        if method == "options":
            # OPTIONS describes the endpoint: whoever may read it may ask.
            return "retrieve" if getattr(view, "detail", False) else "list"
        return getattr(view, "action", None) or method
    return "get" if method in ("head", "options") else method


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
