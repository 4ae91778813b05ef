"""Security events that are not model changes: sign-ins, keys refused, writes denied, exports.

(Password reset requests and resets: test_password_reset_events.py.)
"""

from datetime import timedelta

import jwt
import pytest
from django.utils import timezone

from apps.apikeys.models import ApiKey
from tests.apikeys.factories import issue_key
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory

from .conftest import CLIENT_IP, USER_AGENT, api_caller, as_text, assert_made_by, only, recorded_by

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_rate_limits")]

TOKEN_URL = "/api/v1/auth/token/"
ORG = "/api/v1/orgs/acme"
NEW_PASSWORD = "a brand new passphrase 2026"


def sign_in(email, password, request_id, ip=CLIENT_IP):
    client = api_caller(request_id=request_id, ip=ip)
    return client.post(TOKEN_URL, {"email": email, "password": password}, format="json")


# --- signing in ---------------------------------------------------------------------


def test_a_sign_in_is_recorded_in_each_organization_of_the_user(
    owner, organization, other_organization
):
    user = owner.user
    MembershipFactory(organization=other_organization, user=user, role="viewer")

    response = sign_in(user.email, TEST_PASSWORD, "login-ok")

    assert response.status_code == 200
    entries = recorded_by("login-ok", event="auth.login_succeeded")
    assert sorted(str(entry.organization_id) for entry in entries) == sorted(
        [str(organization.pk), str(other_organization.pk)]
    )
    for entry in entries:
        assert entry.additional_data == {"channel": "token"}
        assert_made_by(
            entry,
            user=user,
            organization=organization
            if entry.organization_id == organization.pk
            else other_organization,
            request_id="login-ok",
        )
    assert TEST_PASSWORD not in "".join(as_text(entry) for entry in entries)


def test_a_failed_sign_in_to_a_known_account_targets_it_in_its_organization_without_actor(
    owner, organization
):
    user = owner.user

    response = sign_in(user.email, "not my password", "login-bad")

    assert response.status_code == 401
    entry = only(recorded_by("login-bad"))
    assert entry.event == "auth.login_failed"
    assert (entry.resource_type, entry.object_pk) == ("accounts.user", str(user.pk))
    assert entry.additional_data == {"email": user.email, "channel": "token"}
    assert_made_by(entry, user=None, organization=organization, request_id="login-bad")
    assert "not my password" not in as_text(entry)


def test_a_failed_sign_in_with_an_unknown_email_is_recorded_on_the_platform(db):
    response = sign_in("nobody@example.com", "guess", "login-unknown")

    assert response.status_code == 401
    entry = only(recorded_by("login-unknown"))
    assert entry.event == "auth.login_failed"
    assert (entry.resource_type, entry.object_pk) == ("", "")
    assert entry.additional_data == {"email": "nobody@example.com", "channel": "token"}
    assert_made_by(entry, user=None, organization=None, request_id="login-unknown")


def test_a_failed_sign_in_of_a_user_without_organization_is_recorded_on_the_platform(db):
    user = UserFactory(email="loner@example.com")

    assert sign_in("loner@example.com", "guess", "login-loner").status_code == 401

    entry = only(recorded_by("login-loner"))
    assert entry.organization_id is None
    assert (entry.resource_type, entry.object_pk) == ("accounts.user", str(user.pk))


def test_an_account_lockout_is_recorded_in_the_accounts_organization_with_its_subject(
    owner, organization, settings
):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    settings.LOGIN_LOCKOUT_SECONDS = 60
    email = owner.user.email
    # From three addresses: the account reaches the threshold, no single IP does.
    for number in range(3):
        sign_in(email, "wrong", f"guess-{number}", ip=f"198.51.100.{number + 1}")

    refused = sign_in(email, TEST_PASSWORD, "after-lockout", ip="198.51.100.9")

    assert refused.status_code == 429
    lockouts = [
        entry
        for number in range(3)
        for entry in recorded_by(f"guess-{number}", event="auth.locked_out")
    ]
    entry = only(lockouts)
    assert entry.organization_id == organization.pk
    assert (entry.resource_type, entry.object_pk) == ("accounts.user", str(owner.user.pk))
    assert entry.additional_data == {
        "subject": "account",
        "identifier": email,
        "seconds": 60,
        "level": 1,
        "channel": "token",
    }
    assert entry.actor_id is None
    assert recorded_by("after-lockout", event="auth.login_succeeded") == []


def test_an_ip_lockout_is_recorded_on_the_platform_naming_the_ip(db, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    for number in range(3):
        sign_in(f"guess{number}@example.com", "wrong", f"spray-{number}", ip="192.0.2.66")

    lockouts = [
        entry
        for number in range(3)
        for entry in recorded_by(f"spray-{number}", event="auth.locked_out")
    ]
    entry = only(lockouts)
    assert entry.organization_id is None
    assert entry.additional_data["subject"] == "ip"
    assert entry.additional_data["identifier"] == "192.0.2.66"
    assert entry.remote_addr == "192.0.2.66"


# --- signed-in users ---------------------------------------------------------------------


def test_a_logout_is_recorded_with_the_tokens_it_revoked(owner, organization):
    client = api_caller(owner.user, request_id="logout")

    assert client.post("/api/v1/auth/logout/").status_code == 204

    entry = only(recorded_by("logout"))
    assert entry.event == "auth.logout"
    assert entry.additional_data == {"channel": "api", "refresh_tokens_revoked": 1}
    assert_made_by(entry, user=owner.user, organization=organization, request_id="logout")


def test_a_password_change_is_recorded_and_neither_password_appears(owner, organization):
    client = api_caller(owner.user, request_id="password")

    response = client.post(
        "/api/v1/auth/password/",
        {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    account_update = only(recorded_by("password", event="update"))
    assert (account_update.resource_type, account_update.object_pk) == (
        "accounts.user",
        str(owner.user.pk),
    )
    assert account_update.changes == {"password": ["********", "********"]}
    assert_made_by(account_update, user=owner.user, organization=None, request_id="password")
    event = only(recorded_by("password", event="auth.password_changed"))
    assert event.additional_data == {"refresh_tokens_revoked": 1}
    assert_made_by(event, user=owner.user, organization=organization, request_id="password")
    for entry in (account_update, event):
        assert TEST_PASSWORD not in as_text(entry)
        assert NEW_PASSWORD not in as_text(entry)


def test_a_reused_refresh_token_is_recorded_with_its_id(owner, organization):
    from apps.authn.tokens import token_pair_for

    refresh = token_pair_for(owner.user)["refresh"]
    jti = jwt.decode(refresh, options={"verify_signature": False})["jti"]
    url = "/api/v1/auth/token/refresh/"
    first = api_caller(request_id="refresh-1").post(url, {"refresh": refresh}, format="json")
    assert first.status_code == 200

    reused = api_caller(request_id="refresh-2").post(url, {"refresh": refresh}, format="json")

    assert reused.status_code == 401
    assert recorded_by("refresh-1", event="auth.refresh_token_reused") == []
    entry = only(recorded_by("refresh-2"))
    assert entry.event == "auth.refresh_token_reused"
    assert entry.additional_data == {"jti": jti, "refresh_tokens_revoked": 1}
    assert_made_by(entry, user=owner.user, organization=organization, request_id="refresh-2")


# --- API keys refused ------------------------------------------------------------------


def test_a_revoked_api_key_used_again_is_recorded_in_its_organization(owner, organization):
    key, raw_key = issue_key(owner, ["agents:read"])
    assert api_caller(owner.user).post(f"{ORG}/api-keys/{key.pk}/revoke/").status_code == 200

    response = api_caller(raw_key=raw_key, request_id="revoked-key").get(f"{ORG}/agents/")

    assert response.status_code == 401
    entry = only(recorded_by("revoked-key"))
    assert entry.event == "api_key.rejected"
    assert (entry.resource_type, entry.object_pk) == ("apikeys.apikey", str(key.pk))
    assert entry.additional_data == {"reason": "revoked", "prefix": key.prefix}
    assert_made_by(
        entry, user=None, organization=organization, request_id="revoked-key", api_key=key
    )
    assert raw_key.split(".", 1)[1] not in as_text(entry)


def test_an_expired_api_key_used_is_recorded_in_its_organization(owner, organization):
    key, raw_key = issue_key(owner, ["agents:read"], expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() - timedelta(minutes=1))

    response = api_caller(raw_key=raw_key, request_id="expired-key").get(f"{ORG}/agents/")

    assert response.status_code == 401
    entry = only(recorded_by("expired-key"))
    assert entry.event == "api_key.rejected"
    assert entry.object_pk == str(key.pk)
    assert entry.additional_data["reason"] == "expired"
    assert_made_by(
        entry, user=None, organization=organization, request_id="expired-key", api_key=key
    )


# --- writes denied -----------------------------------------------------------------------


def test_a_write_denied_to_a_viewer_is_recorded_with_the_viewer_as_actor(organization, member_of):
    viewer = member_of(organization, "viewer").user
    client = api_caller(viewer, request_id="denied-write")

    response = client.post(f"{ORG}/agents/", {"name": "Nope", "model_name": "m"}, format="json")

    assert response.status_code == 403
    entry = only(recorded_by("denied-write"))
    assert entry.event == "access.denied"
    assert entry.additional_data["method"] == "POST"
    assert entry.additional_data["path"] == f"{ORG}/agents/"
    assert entry.additional_data["action"] == "create"
    assert entry.additional_data["reason"]
    assert_made_by(entry, user=viewer, organization=organization, request_id="denied-write")


def test_a_write_denied_to_an_api_key_outside_its_scopes_names_the_key(owner, organization):
    key, raw_key = issue_key(owner, ["agents:read"])
    client = api_caller(raw_key=raw_key, request_id="denied-key")

    response = client.post(f"{ORG}/agents/", {"name": "Nope", "model_name": "m"}, format="json")

    assert response.status_code == 403
    entry = only(recorded_by("denied-key"))
    assert entry.event == "access.denied"
    assert entry.additional_data["action"] == "create"
    assert_made_by(
        entry, user=owner.user, organization=organization, request_id="denied-key", api_key=key
    )


def test_a_read_denied_is_not_recorded(organization, member_of):
    viewer = member_of(organization, "viewer").user
    client = api_caller(viewer, request_id="denied-read")

    assert client.get(f"{ORG}/audit-logs/").status_code == 403

    assert recorded_by("denied-read") == []


# --- exports ----------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_an_audit_log_export_is_itself_recorded(owner, organization, file_format):
    client = api_caller(owner.user, request_id=f"export-{file_format}")

    response = client.get(
        f"{ORG}/audit-logs/export/", {"format": file_format, "action": "create,update"}
    )

    assert response.status_code == 200
    b"".join(response.streaming_content)
    entry = only(recorded_by(f"export-{file_format}"))
    assert entry.event == "audit_log.exported"
    assert (entry.resource_type, entry.object_pk) == (
        "organizations.organization",
        str(organization.pk),
    )
    assert entry.additional_data == {
        "format": file_format,
        "filters": {"action": "create,update"},
    }
    assert_made_by(
        entry,
        user=owner.user,
        organization=organization,
        request_id=f"export-{file_format}",
        ip=CLIENT_IP,
        user_agent=USER_AGENT,
    )


def test_a_huge_login_name_on_the_session_form_is_recorded_cut_to_an_address_length(db):
    from django.test import Client

    typed = "x" * 100_000
    response = Client().post("/api-auth/login/", {"username": typed, "password": "whatever"})

    assert response.status_code in (200, 429)
    from apps.audit.models import AuditEntry

    entry = AuditEntry.objects.get(event="auth.login_failed")
    assert entry.additional_data["email"] == "x" * 254
