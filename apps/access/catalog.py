"""Every permission of the platform, named `resource:action`, and the built-in roles.

This module is the one home of permission names: views, role seeding and
tests import them from here instead of spelling strings of their own.
"""

from typing import Final

RESOURCES: Final = (
    "organization",
    "members",
    "agents",
    "conversations",
    "knowledge_bases",
    "workflows",
    "tools",
    "finetuning_jobs",
    "api_keys",
    "audit_logs",
)
ACTIONS: Final = ("create", "read", "update", "delete", "manage")
# `manage` implies every other action on its resource (and covers sharing).
MANAGE: Final = "manage"

CONTENT_RESOURCES: Final = (
    "agents",
    "conversations",
    "knowledge_bases",
    "workflows",
    "tools",
    "finetuning_jobs",
)


def permission_name(resource: str, action: str) -> str:
    if resource not in RESOURCES:
        raise ValueError(f"Unknown resource {resource!r}")
    if action not in ACTIONS:
        raise ValueError(f"Unknown action {action!r}")
    return f"{resource}:{action}"


ALL_PERMISSIONS: Final = frozenset(
    permission_name(resource, action) for resource in RESOURCES for action in ACTIONS
)


def _crud(resource: str) -> set[str]:
    return {permission_name(resource, action) for action in ("create", "read", "update", "delete")}


OWNER: Final = "owner"
ADMIN: Final = "admin"
EDITOR: Final = "editor"
VIEWER: Final = "viewer"

BUILTIN_ROLE_PERMISSIONS: Final[dict[str, frozenset[str]]] = {
    OWNER: ALL_PERMISSIONS,
    # Everything but deleting the organization; changing Owners is refused by policy.
    ADMIN: frozenset(
        (ALL_PERMISSIONS - {permission_name("organization", action) for action in ACTIONS})
        | {permission_name("organization", "read"), permission_name("organization", "update")}
    ),
    EDITOR: frozenset(
        set().union(*(_crud(resource) for resource in CONTENT_RESOURCES))
        | {
            permission_name("organization", "read"),
            permission_name("members", "read"),
            permission_name("api_keys", "create"),
            permission_name("api_keys", "read"),
            permission_name("api_keys", "delete"),
        }
    ),
    VIEWER: frozenset(
        {permission_name(resource, "read") for resource in CONTENT_RESOURCES}
        | {permission_name("organization", "read"), permission_name("members", "read")}
    ),
}

# Higher ranks may act on lower ones; used to stop anyone granting more than they hold.
ROLE_RANK: Final = {VIEWER: 1, EDITOR: 2, ADMIN: 3, OWNER: 4}


def permissions_imply(held: frozenset[str] | set[str], required: str) -> bool:
    """Whether a set of held permissions satisfies `required` (manage implies the rest)."""
    if required in held:
        return True
    resource, _, _action = required.partition(":")
    return f"{resource}:{MANAGE}" in held


def role_has_permission(role: str, required: str) -> bool:
    return permissions_imply(BUILTIN_ROLE_PERMISSIONS.get(role, frozenset()), required)
