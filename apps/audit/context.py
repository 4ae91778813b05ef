"""Who is acting, from where: the context every audit entry is filled from.

A request binds itself in `AuditContextMiddleware`; the actor is read from the
request when an entry is written, which is after DRF has authenticated it (DRF
sets the authenticated user and key on the underlying Django request). A Celery
task binds the task's name and the request id, user and key of whoever enqueued
it (carried in the message headers).
"""

import contextlib
import functools
import ipaddress
import os
import sys
import unicodedata
from contextvars import ContextVar
from dataclasses import dataclass

from auditlog.models import AbstractLogEntry
from django.contrib.contenttypes.models import ContentType

from apps.core.request_id import get_request_id
from apps.ratelimit.client_ip import client_ip

USER_AGENT_MAX = 512
EVENT_OF_ACTION = {
    AbstractLogEntry.Action.CREATE: "create",
    AbstractLogEntry.Action.UPDATE: "update",
    AbstractLogEntry.Action.DELETE: "delete",
}
IP_MAX = 45  # AuditEntry.remote_addr


@dataclass
class AuditContext:
    request: object | None = None
    ip: str = ""
    user_agent: str = ""
    task: str = ""
    request_id: str = ""
    actor_id: object | None = None
    actor_email: str = ""
    api_key_id: object | None = None
    api_key_prefix: str = ""


_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current() -> AuditContext | None:
    return _current.get()


@contextlib.contextmanager
def bound(context: AuditContext):
    token = _current.set(context)
    try:
        yield context
    finally:
        _current.reset(token)


def printable(text: str) -> str:
    """`text` without control characters or lone surrogates (which PostgreSQL refuses)."""
    return "".join(char for char in text if unicodedata.category(char) not in ("Cc", "Cs"))


def normalized_ip(ip: str | None) -> str:
    """An IP address as the audit log stores it: one spelling per address; never raises.

    IPv6 is compressed and lower-cased, without a zone (`fe80::1%eth0`); an
    IPv4-mapped one keeps its dotted quad (`::ffff:192.0.2.1`), as Django writes
    it. IPv4 is kept as is. Anything else (a unix socket's name) is kept without
    control characters and cut to the column's 45 characters.
    """
    if not ip:
        return ""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return printable(ip)[:IP_MAX]
    if address.version == 6:
        address = ipaddress.IPv6Address(int(address))  # drops the zone
        if address.ipv4_mapped:
            return f"::ffff:{address.ipv4_mapped}"
    return str(address)


def context_for_request(request) -> AuditContext:
    return AuditContext(
        request=request,
        ip=normalized_ip(client_ip(request)),
        user_agent=printable(request.META.get("HTTP_USER_AGENT", "")[:USER_AGENT_MAX]),
    )


class AuditContextMiddleware:
    """Bind the request to the audit context (after authentication middleware)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with bound(context_for_request(request)):
            return self.get_response(request)


def request_principal(request) -> tuple[object | None, object | None]:
    """The authenticated user and API key of a request, as DRF or Django left them."""
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_authenticated", False):
        user = None
    key = getattr(request, "auth", None)
    if not getattr(key, "is_api_key", False):
        key = None
    return user, key


@functools.cache
def command_label() -> str:
    """ "manage.py <command>" when this process is a management command, else "".

    Entries written outside any request or task (seed_demo, a shell session, a
    data repair) then say which command wrote them.
    """
    program = os.path.basename(sys.argv[0]) if sys.argv else ""
    if program in ("manage.py", "django-admin") and len(sys.argv) > 1:
        return f"manage.py {sys.argv[1]}"[:200]
    return ""


def fill_from_context(entry) -> None:
    """Fill whatever the writer left empty from the current request or task."""
    context = current()
    if not entry.cid:
        entry.cid = (context.request_id if context else "") or get_request_id() or ""
    if entry.content_type_id and not entry.resource_type:
        content_type = ContentType.objects.get_for_id(entry.content_type_id)
        entry.resource_type = f"{content_type.app_label}.{content_type.model}"
    if not entry.event:
        entry.event = EVENT_OF_ACTION.get(entry.action, "access")
    if context is None:
        entry.task = entry.task or command_label()
        return
    if entry.actor_id is None and entry.api_key_id is None:
        user, key = request_principal(context.request) if context.request else (None, None)
        if user is not None:
            entry.actor_id, entry.actor_email = user.pk, user.email
        elif context.actor_id:
            entry.actor_id, entry.actor_email = context.actor_id, context.actor_email
        if key is not None:
            entry.api_key_id, entry.api_key_prefix = key.pk, key.displayed_prefix
        elif context.api_key_id:
            entry.api_key_id, entry.api_key_prefix = context.api_key_id, context.api_key_prefix
    if not entry.remote_addr:
        entry.remote_addr = context.ip
    if not entry.user_agent:
        entry.user_agent = context.user_agent
    if not entry.task:
        entry.task = context.task
