"""Listeners that turn other apps' signals into audit entries."""

import dataclasses

from auditlog import get_logentry_model
from auditlog.context import auditlog_disabled
from celery import signals as celery_signals
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from apps.apikeys.signals import api_key_rejected
from apps.authn import signals as authn_signals

from . import events
from .context import AuditContext, _current, current, request_principal
from .registry import m2m_fields_of

TASK_HEADER = "agentry_audit"


def _member_organization_ids(user) -> list:
    from apps.organizations.models import Membership

    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def _record_for_user(event: str, *, user, request, data: dict) -> None:
    """Record a user's sign-in event in each of their organizations (the platform's if none)."""
    for organization_id in _member_organization_ids(user) or [None]:
        events.record_event_robustly(
            event, organization_id=organization_id, actor=user, data=data, request=request
        )


@receiver(authn_signals.login_succeeded)
def on_login_succeeded(sender, user, channel, request=None, **kwargs):
    _record_for_user(events.LOGIN_SUCCEEDED, user=user, request=request, data={"channel": channel})


def _record_against_account(event: str, *, user, request, data: dict) -> None:
    """Record an attempt on an account (not made by it) in its organizations, or the platform's."""
    if user is None:
        events.record_event_robustly(event, data=data, request=request)
        return
    for organization_id in _member_organization_ids(user) or [None]:
        events.record_event_robustly(
            event, organization_id=organization_id, target=user, data=data, request=request
        )


@receiver(authn_signals.login_failed)
def on_login_failed(sender, email, channel, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(email=email).first()
    _record_against_account(
        events.LOGIN_FAILED, user=user, request=request, data={"email": email, "channel": channel}
    )


@receiver(authn_signals.login_locked_out)
def on_locked_out(sender, subject, identifier, seconds, level, channel, request=None, **kwargs):
    data = {
        "subject": subject,
        "identifier": identifier,
        "seconds": seconds,
        "level": level,
        "channel": channel,
    }
    events.record_event_robustly(events.LOCKED_OUT, data=data, request=request)


@receiver(authn_signals.logout)
def on_logout(sender, user, request=None, revoked=0, **kwargs):
    _record_for_user(
        events.LOGOUT, user=user, request=request, data={"refresh_tokens_revoked": revoked}
    )


@receiver(authn_signals.password_changed)
def on_password_changed(sender, user, request=None, revoked=0, **kwargs):
    _record_for_user(
        events.PASSWORD_CHANGED,
        user=user,
        request=request,
        data={"refresh_tokens_revoked": revoked},
    )


@receiver(authn_signals.password_reset_requested)
def on_password_reset_requested(sender, user, email, request=None, **kwargs):
    # Anyone may ask for a reset of any address: the account is the target, not the actor.
    _record_against_account(
        events.PASSWORD_RESET_REQUESTED, user=user, request=request, data={"email": email}
    )


@receiver(authn_signals.password_reset)
def on_password_reset(sender, user, request=None, revoked=0, **kwargs):
    _record_for_user(
        events.PASSWORD_RESET, user=user, request=request, data={"refresh_tokens_revoked": revoked}
    )


@receiver(authn_signals.refresh_token_reused)
def on_refresh_token_reused(sender, user, jti, request=None, revoked=0, **kwargs):
    _record_for_user(
        events.REFRESH_TOKEN_REUSED,
        user=user,
        request=request,
        data={"jti": jti, "refresh_tokens_revoked": revoked},
    )


@receiver(api_key_rejected)
def on_api_key_rejected(sender, key, reason, ip, prefix, **kwargs):
    events.record_event_robustly(
        events.API_KEY_REJECTED,
        organization_id=getattr(key, "organization_id", None),
        target=key,
        data={"reason": reason, "prefix": prefix},
    )


def _log_m2m_change(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Log an agent's tools or knowledge bases being added, removed or cleared.

    django-auditlog's own handler logs every row of the related table on
    `clear()` (upstream bug #539), which would leak other organizations' names:
    the rows cleared are read before the clear instead.
    """
    if auditlog_disabled.get():
        return
    field_name = _m2m_field_of(sender)
    if action == "pre_clear":
        instance._audit_cleared = list(getattr(instance, _accessor(instance, field_name)).all())
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    operation = "add" if action == "post_add" else "delete"
    log_entry = get_logentry_model().objects
    if action == "post_clear":
        cleared = instance.__dict__.pop("_audit_cleared", [])
        owners, related = (cleared, [instance]) if reverse else ([instance], cleared)
    elif reverse:
        # tool.agents.add(agent): the change is recorded on each agent.
        owners, related = list(model._base_manager.filter(pk__in=pk_set)), [instance]
    else:
        owners, related = [instance], list(model._base_manager.filter(pk__in=pk_set))
    for owner in owners:
        if related:
            log_entry.log_m2m_changes(related, owner, operation, field_name)


_M2M_THROUGH: dict = {}


def _m2m_field_of(through) -> str:
    return _M2M_THROUGH[through][1]


def _accessor(instance, field_name: str) -> str:
    if field_name in m2m_fields_of(instance._meta.label):
        return field_name
    # The reverse side (tool.agents): cleared from the tool, recorded on it.
    return next(
        rel.get_accessor_name()
        for rel in instance._meta.related_objects
        if rel.many_to_many and rel.field.name == field_name
    )


def connect_m2m_receivers(models) -> None:
    for model in models:
        for field_name in m2m_fields_of(model._meta.label):
            through = model._meta.get_field(field_name).remote_field.through
            _M2M_THROUGH[through] = (model, field_name)
            m2m_changed.connect(
                _log_m2m_change, sender=through, dispatch_uid=f"audit-m2m-{through._meta.label}"
            )


@celery_signals.before_task_publish.connect(dispatch_uid="audit-task-publish")
def carry_context_to_task(headers=None, **kwargs):
    """Send who enqueued a task with it, so the entries it writes name them."""
    context = current()
    if context is None or headers is None:
        return
    user, key = request_principal(context.request) if context.request else (None, None)
    from apps.core.request_id import get_request_id

    headers[TASK_HEADER] = {
        "request_id": context.request_id or get_request_id() or "",
        "actor_id": str(user.pk) if user else (str(context.actor_id or "") or None),
        "actor_email": user.email if user else context.actor_email,
        "api_key_id": str(key.pk) if key else (str(context.api_key_id or "") or None),
        "api_key_prefix": key.displayed_prefix if key else context.api_key_prefix,
        "ip": context.ip,
        "user_agent": context.user_agent,
    }


_task_tokens: dict = {}


@celery_signals.task_prerun.connect(dispatch_uid="audit-task-prerun")
def bind_task_context(task_id=None, task=None, **kwargs):
    outer = current()
    if outer is not None:
        # Eager (inline) run: the request that enqueued the task is still bound.
        context = dataclasses.replace(outer, task=task.name)
    else:
        carried = getattr(task.request, TASK_HEADER, None) or {}
        context = AuditContext(
            task=task.name,
            request_id=carried.get("request_id") or "",
            actor_id=carried.get("actor_id"),
            actor_email=carried.get("actor_email") or "",
            api_key_id=carried.get("api_key_id"),
            api_key_prefix=carried.get("api_key_prefix") or "",
            ip=carried.get("ip") or "",
            user_agent=carried.get("user_agent") or "",
        )
    _task_tokens[task_id] = _current.set(context)


@celery_signals.task_postrun.connect(dispatch_uid="audit-task-postrun")
def unbind_task_context(task_id=None, **kwargs):
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        _current.reset(token)
