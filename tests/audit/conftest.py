"""Callers that look like real clients, and ways to read what the audit log recorded of them.

Every request of these tests carries a client IP, a user agent and a request id,
so that each entry can be checked for all three (and the request id tells which
request wrote which entries).
"""

import json
from io import StringIO
from types import SimpleNamespace

import pytest
from django.core.management import CommandError, call_command
from django.forms.models import model_to_dict
from rest_framework.test import APIClient

CLIENT_IP = "203.0.113.7"
USER_AGENT = "agentry-tests/1.0 (audit)"


def api_caller(
    user=None,
    *,
    raw_key: str | None = None,
    request_id: str = "req-audit",
    ip: str = CLIENT_IP,
    user_agent: str = USER_AGENT,
    **extra,
) -> APIClient:
    """A client signed in with a real JWT (`user`) or API key (`raw_key`), or anonymous."""
    from apps.authn.tokens import token_pair_for

    client = APIClient(
        REMOTE_ADDR=ip, HTTP_USER_AGENT=user_agent, HTTP_X_REQUEST_ID=request_id, **extra
    )
    if raw_key is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    elif user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access']}")
    return client


def recorded(**filters) -> list:
    """The audit entries matching `filters`, oldest first (by id: across chains too)."""
    from apps.audit.models import AuditEntry

    return list(AuditEntry.objects.filter(**filters).order_by("id"))


def recorded_by(request_id: str, **filters) -> list:
    """The entries one request (or the tasks it enqueued) wrote."""
    return recorded(cid=request_id, **filters)


def only(entries: list):
    assert len(entries) == 1, [str(entry) for entry in entries]
    return entries[0]


def as_text(entry) -> str:
    """Every stored column of an entry, as one JSON text (to look for leaked secrets)."""
    return json.dumps(model_to_dict(entry), default=str, ensure_ascii=False)


def assert_made_by(
    entry,
    *,
    user,
    organization,
    request_id: str,
    ip: str = CLIENT_IP,
    user_agent: str = USER_AGENT,
    api_key=None,
    task: str = "",
) -> None:
    """The entry names who made it, in which organization, from where, in which request."""
    assert entry.organization_id == (organization.pk if organization is not None else None)
    assert entry.actor_id == (user.pk if user is not None else None)
    assert (entry.actor_email or "") == (user.email if user is not None else "")
    assert entry.api_key_id == (api_key.pk if api_key is not None else None)
    assert entry.api_key_prefix == (api_key.displayed_prefix if api_key is not None else "")
    assert entry.remote_addr == ip
    assert entry.user_agent == user_agent
    assert entry.cid == request_id
    assert entry.task == task


@pytest.fixture
def admin_member(organization, member_of):
    """An Admin of acme: holds audit_logs:read by default."""
    return member_of(organization, "admin")


@pytest.fixture
def audit_clock(monkeypatch):
    """Stamp the entries written from now on with chosen times: `audit_clock.now = dt`."""
    import apps.audit.chain

    clock = SimpleNamespace(now=None)
    real_now = apps.audit.chain.timezone.now

    def now():
        return clock.now or real_now()

    monkeypatch.setattr(apps.audit.chain, "timezone", SimpleNamespace(now=now))
    return clock


@pytest.fixture
def generous_rate_limits(settings):
    """Sign-ins are rate limited too; tests that sign in often test what is recorded, not that."""
    settings.RATE_LIMIT_AUTH_MAX = 10_000
    settings.RATE_LIMIT_MAX = 10_000


def verify(*args) -> tuple[str, CommandError | None]:
    """Run verify_audit_log: (its output, the CommandError it raised or None)."""
    out = StringIO()
    try:
        call_command("verify_audit_log", *args, stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None
