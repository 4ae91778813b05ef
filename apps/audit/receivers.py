"""Listeners that turn other apps' signals into audit entries."""

import dataclasses

from auditlog import get_logentry_model
from auditlog.context import auditlog_disabled
from celery import signals as celery_signals
from django.contrib.auth.signals import user_logged_out
from django.db.models.signals import m2m_changed, pre_delete
from django.dispatch import receiver

from apps.apikeys.signals import api_key_rejected
from apps.authn import signals as authn_signals

from . import events
from .context import AuditContext, _current, current, request_principal
from .recording import batched, permissions_entry
from .registry import m2m_fields_of
from .scoping import organization_id_of

TASK_HEADER = "agentry_audit"
EMAIL_MAX = 254


def _member_organization_ids(user) -> list:
    from apps.organizations.models import Membership

    return list(Membership.objects.filter(user=user).values_list("organization_id", flat=True))


def _record_for_user(event: str, *, user, request, data: dict) -> None:
    """Record a user's sign-in event in each of their organizations (the platform's if none)."""
    events.record_event_robustly(
        event,
        organization_ids=_member_organization_ids(user) or [None],
        actor=user,
        data=data,
        request=request,
    )


@receiver(authn_signals.login_succeeded)
def on_login_succeeded(sender, user, channel, request=None, **kwargs):
    _record_for_user(events.LOGIN_SUCCEEDED, user=user, request=request, data={"channel": channel})


def _record_against_account(event: str, *, user, request, data: dict, actor=None) -> None:
    """Record an action on an account (not by it) in its organizations, or the platform's.

    `actor` is whoever acted on it when known (staff setting its password); none for
    attempts by an unknown caller (a failed sign-in, a lockout).
    """
    if user is None:
        events.record_event_robustly(event, actor=actor, data=data, request=request)
        return
    events.record_event_robustly(
        event,
        organization_ids=_member_organization_ids(user) or [None],
        target=user,
        actor=actor,
        data=data,
        request=request,
    )


@receiver(authn_signals.login_failed)
def on_login_failed(sender, email, channel, request=None, **kwargs):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.filter(email=email).first()
    # What was typed, cut to an address's longest: the session and admin forms take any length.
    data = {"email": email[:EMAIL_MAX], "channel": channel}
    _record_against_account(events.LOGIN_FAILED, user=user, request=request, data=data)


@receiver(authn_signals.login_locked_out)
def on_locked_out(sender, subject, identifier, seconds, level, channel, request=None, **kwargs):
    """Record a lockout: an account's in its organizations (so their officers see it)."""
    from django.contrib.auth import get_user_model

    data = {
        "subject": subject,
        "identifier": identifier[:EMAIL_MAX],
        "seconds": seconds,
        "level": level,
        "channel": channel,
    }
    user = None
    if subject == "account":
        user = get_user_model().objects.filter(email=identifier).first()
    _record_against_account(events.LOCKED_OUT, user=user, request=request, data=data)


@receiver(authn_signals.logout)
def on_logout(sender, user, request=None, revoked=0, **kwargs):
    _record_for_user(
        events.LOGOUT,
        user=user,
        request=request,
        data={"channel": "api", "refresh_tokens_revoked": revoked},
    )


@receiver(user_logged_out, dispatch_uid="audit-session-logout")
def on_session_logout(sender, request, user, **kwargs):
    """Record the end of a session: the browsable API's logout and the admin's.

    The API's logout (apps.authn.services.user_logout) may end a session too; it
    sends `authn.signals.logout` with the refresh tokens it revoked, which records it.
    """
    if user is None or _is_api_logout(request):
        return
    match = getattr(request, "resolver_match", None)
    channel = "admin" if match is not None and match.app_name == "admin" else "session"
    _record_for_user(
        events.LOGOUT,
        user=user,
        request=request,
        data={"channel": channel, "refresh_tokens_revoked": 0},
    )


def _is_api_logout(request) -> bool:
    from apps.authn.api.views import LogoutView

    match = getattr(request, "resolver_match", None)
    return match is not None and getattr(match.func, "view_class", None) is LogoutView


@receiver(authn_signals.password_changed)
def on_password_changed(sender, user, request=None, revoked=0, changed_by=None, **kwargs):
    """Record a password change; one staff set in the admin names the staff user as actor."""
    if changed_by is not None:
        _record_against_account(
            events.PASSWORD_CHANGED,
            user=user,
            actor=changed_by,
            request=request,
            data={"by_staff": True, "refresh_tokens_revoked": revoked},
        )
        return
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
    # The key, when known, is named as for its accepted uses: `?api_key=` finds both.
    events.record_event_robustly(
        events.API_KEY_REJECTED,
        organization_ids=[getattr(key, "organization_id", None)],
        target=key,
        api_key=key,
        data={"reason": reason, "prefix": prefix},
    )


# through model of an audited many-to-many field -> (the model declaring it, the field's name)
_M2M_THROUGH: dict = {}
# related model -> the (model, field name) pairs whose rows go when one of its objects is deleted
_M2M_RELATED: dict = {}


def _log_m2m_change(sender, instance, action, reverse, model, pk_set, **kwargs):
    """Log related objects being added to, removed from or cleared from an audited m2m field.

    django-auditlog's own handler logs every row of the related table on
    `clear()` (upstream bug #539), which would leak other organizations' names:
    the rows cleared are read before the clear instead.
    """
    if auditlog_disabled.get():
        return
    field_name = _M2M_THROUGH[sender][1]
    cleared_key = f"_audit_cleared_{field_name}"
    if action == "pre_clear":
        instance.__dict__[cleared_key] = list(getattr(instance, _accessor(instance, sender)).all())
        return
    if action not in ("post_add", "post_remove", "post_clear"):
        return
    operation = "add" if action == "post_add" else "delete"
    if action == "post_clear":
        cleared = instance.__dict__.pop(cleared_key, [])
        owners, related = (cleared, [instance]) if reverse else ([instance], cleared)
    elif reverse:
        # tool.agents.add(agent): the change is recorded on each agent.
        owners, related = list(model._base_manager.filter(pk__in=pk_set)), [instance]
    else:
        owners, related = [instance], list(model._base_manager.filter(pk__in=pk_set))
    for owner in owners:
        if related:
            _record_m2m(owner, field_name, operation, related)


def _record_m2m(owner, field_name: str, operation: str, related: list) -> None:
    from django.contrib.auth.models import Group

    log_entry = get_logentry_model().objects
    if isinstance(owner, Group) and field_name == "permissions":
        # A role's permissions are its group's: recorded on the role (see permissions_entry).
        with permissions_entry(owner) as entry:
            log_entry.log_m2m_changes(related, entry.instance, operation, field_name)
        return
    log_entry.log_m2m_changes(related, owner, operation, field_name)


def _accessor(instance, through) -> str:
    """The attribute of `instance` that reaches the other side of `through`'s relation."""
    owner_model, field_name = _M2M_THROUGH[through]
    field = owner_model._meta.get_field(field_name)
    if isinstance(instance, owner_model):
        return field_name
    # The reverse side (tool.agents, group.user_set): cleared from it, recorded on each owner.
    return field.remote_field.get_accessor_name()


def _on_related_delete(sender, instance, origin=None, **kwargs):
    """Record, on each owner, a related object removed by its deletion (agent tools, …).

    Deleting a tool deletes its rows of every agent's `tools` through table by
    cascade, which sends no m2m_changed. Owners deleted with it (all of an
    organization's agents when the organization goes) have their own entries.
    """
    if auditlog_disabled.get():
        return
    # An organization's objects refer only to its own: when it goes, so do their owners.
    organization_goes = _deleted_with(instance, origin)
    with batched():
        for owner_model, field_name in _M2M_RELATED.get(sender, ()):
            if organization_goes and hasattr(owner_model, "organization_id"):
                continue
            for owner in owner_model._base_manager.filter(**{field_name: instance}):
                if not _deleted_with(owner, origin):
                    _record_m2m(owner, field_name, "delete", [instance])


def _deleted_with(owner, origin) -> bool:
    """Whether `owner` goes in the same deletion: the organization it belongs to is deleted."""
    from django.db.models import QuerySet

    from apps.organizations.models import Organization

    organization_id = organization_id_of(owner)
    if organization_id is None:
        return False
    if isinstance(origin, Organization):
        return origin.pk == organization_id
    if isinstance(origin, QuerySet) and origin.model is Organization:
        return origin.filter(pk=organization_id).exists()
    return False


def _connect_m2m(model, field_name: str) -> None:
    field = model._meta.get_field(field_name)
    through, related_model = field.remote_field.through, field.related_model
    _M2M_THROUGH[through] = (model, field_name)
    m2m_changed.connect(
        _log_m2m_change, sender=through, dispatch_uid=f"audit-m2m-{through._meta.label}"
    )
    _M2M_RELATED.setdefault(related_model, [])
    if (model, field_name) not in _M2M_RELATED[related_model]:
        _M2M_RELATED[related_model].append((model, field_name))
    pre_delete.connect(
        _on_related_delete,
        sender=related_model,
        dispatch_uid=f"audit-m2m-related-{related_model._meta.label}",
    )


def connect_m2m_receivers(models) -> None:
    """Record the audited m2m fields of `models`, and the permissions of every role's group."""
    from django.contrib.auth.models import Group

    for model in models:
        for field_name in m2m_fields_of(model._meta.label):
            _connect_m2m(model, field_name)
    # Staff edit a role's permissions as its group's (the admin's Groups page); built-in
    # roles' groups are shared by every organization.
    _connect_m2m(Group, "permissions")


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
