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


# Resources whose single objects can be shared with a user or a role (django-guardian grants).
GRANTABLE_RESOURCES: Final = ("agents", "knowledge_bases", "workflows", "tools")

# The model whose content type carries each resource's permissions, so that
# `user.has_perm("agents.agents:update", agent)` and guardian's per-object rows work.
RESOURCE_MODELS: Final = {
    "organization": "organizations.Organization",
    "members": "organizations.Membership",
    "agents": "agents.Agent",
    "conversations": "conversations.Conversation",
    "knowledge_bases": "knowledge.KnowledgeBase",
    "workflows": "workflows.Workflow",
    "tools": "tools.Tool",
    "finetuning_jobs": "finetuning.FineTuningJob",
    "api_keys": "access.PlatformResource",
    "audit_logs": "access.PlatformResource",
}

ACTION_DESCRIPTIONS: Final = {
    "create": "Can create {}",
    "read": "Can read {}",
    "update": "Can update {}",
    "delete": "Can delete {}",
    "manage": "Can manage (and share) {}",
}


def model_permissions(*resources: str) -> list[tuple[str, str]]:
    """`Meta.permissions` of the model that carries these resources' permissions."""
    return [
        (
            permission_name(resource, action),
            ACTION_DESCRIPTIONS[action].format(resource.replace("_", " ")),
        )
        for resource in resources
        for action in ACTIONS
    ]


def resource_of_model(model) -> str | None:
    """The resource whose permissions a model carries, or None."""
    label = f"{model._meta.app_label}.{model.__name__}"
    for resource, model_label in RESOURCE_MODELS.items():
        if model_label == label and not model_label.startswith("access."):
            return resource
    return None


def resource_of(permission: str) -> str:
    return permission.partition(":")[0]


def action_of(permission: str) -> str:
    return permission.partition(":")[2]


def django_permission_name(permission: str) -> str:
    """The `app_label.codename` form Django's `has_perm` takes."""
    app_label = RESOURCE_MODELS[resource_of(permission)].partition(".")[0]
    return f"{app_label}.{permission}"


def expand(permissions) -> frozenset[str]:
    """Permissions with what `manage` implies spelled out."""
    expanded = set(permissions)
    for permission in permissions:
        if action_of(permission) == MANAGE:
            expanded.update(permission_name(resource_of(permission), a) for a in ACTIONS)
    return frozenset(expanded)


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


def permissions_imply(held: frozenset[str] | set[str], required: str) -> bool:
    """Whether a set of held permissions satisfies `required` (manage implies the rest)."""
    if required in held:
        return True
    resource, _, _action = required.partition(":")
    return f"{resource}:{MANAGE}" in held
