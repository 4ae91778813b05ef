"""Security events: what the audit log records that is not a change of a model."""

import logging
from typing import Final

from auditlog.models import AbstractLogEntry
from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from .context import AuditContext, bound, context_for_request, current
from .models import AuditEntry
from .recording import batched
from .registry import object_repr_of

logger = logging.getLogger(__name__)

LOGIN_SUCCEEDED: Final = "auth.login_succeeded"
LOGIN_FAILED: Final = "auth.login_failed"
LOCKED_OUT: Final = "auth.locked_out"
LOGOUT: Final = "auth.logout"
PASSWORD_CHANGED: Final = "auth.password_changed"
PASSWORD_RESET_REQUESTED: Final = "auth.password_reset_requested"
PASSWORD_RESET: Final = "auth.password_reset"
REFRESH_TOKEN_REUSED: Final = "auth.refresh_token_reused"
API_KEY_REJECTED: Final = "api_key.rejected"
ACCESS_DENIED: Final = "access.denied"
ROLE_CHANGED: Final = "member.role_changed"
ROLE_PERMISSIONS_CHANGED: Final = "role.permissions_changed"
AUDIT_LOG_EXPORTED: Final = "audit_log.exported"
AUDIT_RETENTION_APPLIED: Final = "audit_log.retention_applied"
BACKUP_COMPLETED: Final = "backup.completed"
BACKUP_FAILED: Final = "backup.failed"
RESTORE_COMPLETED: Final = "restore.completed"
RESTORE_FAILED: Final = "restore.failed"

EVENTS: Final = (
    LOGIN_SUCCEEDED,
    LOGIN_FAILED,
    LOCKED_OUT,
    LOGOUT,
    PASSWORD_CHANGED,
    PASSWORD_RESET_REQUESTED,
    PASSWORD_RESET,
    REFRESH_TOKEN_REUSED,
    API_KEY_REJECTED,
    ACCESS_DENIED,
    ROLE_CHANGED,
    ROLE_PERMISSIONS_CHANGED,
    AUDIT_LOG_EXPORTED,
    AUDIT_RETENTION_APPLIED,
    BACKUP_COMPLETED,
    BACKUP_FAILED,
    RESTORE_COMPLETED,
    RESTORE_FAILED,
)
CHANGE_ACTIONS: Final = ("create", "update", "delete")


def record_event(
    event: str,
    *,
    organization_id=None,
    target: models.Model | None = None,
    actor=None,
    api_key=None,
    data: dict | None = None,
    request=None,
) -> AuditEntry:
    """Append a security event to the organization's chain (the platform's when None).

    The actor, IP, user agent and request id come from `request` when given,
    else from the current request or task; an explicit `actor` or `api_key` wins
    (a refused key is named, though the request was not authenticated by it).
    """
    if event not in EVENTS:
        raise ValueError(f"Unknown audit event {event!r}; add it to apps.audit.events.EVENTS.")
    entry = AuditEntry(
        event=event,
        action=AbstractLogEntry.Action.ACCESS,
        organization_id=organization_id,
        additional_data=data or None,
    )
    if actor is not None:
        entry.actor_id, entry.actor_email = actor.pk, actor.email
    if api_key is not None:
        entry.api_key_id, entry.api_key_prefix = api_key.pk, api_key.displayed_prefix
    if target is not None:
        entry.content_type = ContentType.objects.get_for_model(target)
        entry.object_pk = str(target.pk)
        entry.object_repr = (object_repr_of(target) or str(target))[:1000]
    context = current()
    if request is not None and (context is None or context.request is not request):
        context = context_for_request(request)
    with bound(context or AuditContext()):
        entry.save()
    return entry


def record_event_robustly(event: str, *, organization_ids=(None,), **kwargs) -> None:
    """`record_event` in each of `organization_ids`, for listeners of other apps' signals.

    The entries are written together (one lock and insert per chain). An error is
    logged, not raised: a failure to write the audit entry must not turn the
    caller's answer (a 401 for a bad password, say) into a 500.
    """
    try:
        with transaction.atomic(), batched():  # a savepoint: the caller's transaction lives
            for organization_id in organization_ids:
                record_event(event, organization_id=organization_id, **kwargs)
    except Exception:
        logger.exception("Could not record audit event %s", event)
