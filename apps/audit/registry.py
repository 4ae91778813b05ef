"""Which models the audit log records, and which of their fields it hides.

Every domain model is audited, and so are organizations, memberships, roles,
grants, API keys and user accounts. Not audited: knowledge chunks (derived
from a document's file on ingestion; the document's entry records it), and the
JWT bookkeeping tables (sign-ins are security events instead). Django groups
are not audited as such: a role's permissions are its group's, and their
changes are recorded on the role (apps.audit.receivers).
"""

from auditlog.registry import auditlog
from django.apps import apps
from django.conf import settings
from django.utils.crypto import salted_hmac
from django.utils.encoding import smart_str

MASK = "********"

# label -> django-auditlog registration options
AUDITED_MODELS: dict[str, dict] = {
    "organizations.Organization": {},
    "organizations.Membership": {},
    "access.Role": {},
    "accounts.User": {
        "mask_fields": ["password"],
        "exclude_fields": ["last_login", "updated_at"],
        # Platform privileges staff give in the admin (a role's permissions are its group's:
        # apps.audit.receivers records those on the role).
        "m2m_fields": ["groups", "user_permissions"],
    },
    "apikeys.ApiKey": {
        "mask_fields": ["hashed_key"],
        # Usage bookkeeping, written at most once a minute per key: not a change anyone made.
        "exclude_fields": ["last_used_at", "last_used_ip", "expiry_warned_at", "updated_at"],
    },
    "apikeys.ApiKeyPolicy": {},
    "agents.Agent": {"m2m_fields": ["tools", "knowledge_bases"]},
    "agents.AgentUserGrant": {},
    "agents.AgentRoleGrant": {},
    "tools.Tool": {"mask_fields": ["credentials"]},
    "tools.ToolUserGrant": {},
    "tools.ToolRoleGrant": {},
    "conversations.Conversation": {},
    "conversations.Message": {
        # A digest shows that the text changed without copying customers' messages here.
        "mask_fields": ["content"],
        "mask_callable": "apps.audit.registry.digest",
    },
    "knowledge.KnowledgeBase": {},
    "knowledge.KnowledgeBaseUserGrant": {},
    "knowledge.KnowledgeBaseRoleGrant": {},
    "knowledge.Document": {},
    "workflows.Workflow": {},
    "workflows.WorkflowUserGrant": {},
    "workflows.WorkflowRoleGrant": {},
    "workflows.WorkflowRun": {
        # A run's input, step outputs and output are customers' data, as messages are. The
        # definition is the workflow's configuration and stays readable.
        "mask_fields": ["input", "output", "step_results"],
        "mask_callable": "apps.audit.registry.digest",
    },
    # Counts, the model trained and its settings: no examples of the training file.
    "finetuning.FineTuningJob": {},
}


# How entries name objects whose str() would leak what the masks hide.
OBJECT_REPRS: dict[str, object] = {
    "conversations.Message": lambda message: f"{message.role} message",
}


def object_repr_of(instance) -> str | None:
    describe = OBJECT_REPRS.get(instance._meta.label)
    return describe(instance) if describe else None


def mask(value: str) -> str:
    """The whole value hidden (django-auditlog's default shows half of it)."""
    return MASK if value not in ("", "None", "{}") else value


# Values that hold nothing to hide: shown as they are, so "set" and "cleared" stay readable.
EMPTY_VALUES = ("", "None", "null", "{}", "[]")


def digest(value: str) -> str:
    """A short SHA-256 and the length: shows that and when a value changed, not what it is."""
    if value in EMPTY_VALUES:
        return value
    # Keyed: a plain hash of a short text ("1234") would be reversed by trying them all.
    secret = settings.AUDIT_CHAIN_KEY or settings.SECRET_KEY
    keyed = salted_hmac("apps.audit.digest", value, secret=secret, algorithm="sha256")
    return f"hmac-sha256:{keyed.hexdigest()[:16]} ({len(value)} chars)"


def audited_models() -> list:
    return [apps.get_model(label) for label in AUDITED_MODELS]


def register_audited_models() -> None:
    """Register every audited model with django-auditlog (m2m fields are ours: see receivers)."""
    for label, options in AUDITED_MODELS.items():
        model = apps.get_model(label)
        if auditlog.contains(model):
            continue
        options = {key: value for key, value in options.items() if key != "m2m_fields"}
        options.setdefault("exclude_fields", ["updated_at"])
        auditlog.register(model, **options)


def m2m_fields_of(label: str) -> list[str]:
    return AUDITED_MODELS.get(label, {}).get("m2m_fields", [])


def m2m_name_of(related) -> str:
    """How an m2m change names a related object: a permission by its codename (`agents:read`)."""
    from django.contrib.auth.models import Permission

    return related.codename if isinstance(related, Permission) else smart_str(related)
