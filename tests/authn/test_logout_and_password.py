"""Logout and password change revoke refresh tokens; a password change keeps the caller in."""

import pytest
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from apps.authn import signals

from ..factories import TEST_PASSWORD
from .conftest import LOGOUT_URL, PASSWORD_URL, REFRESH_URL, bearer_client, error_of, obtain

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def events():
    log = []

    def handler(signal, sender, **kwargs):
        log.append((signal, kwargs))

    for signal in (signals.logout, signals.password_changed):
        signal.connect(handler, weak=False)
    yield log
    for signal in (signals.logout, signals.password_changed):
        signal.disconnect(handler)


def pair(api_client, email="ada@example.com", password=TEST_PASSWORD):
    response = obtain(api_client, email=email, password=password)
    assert response.status_code == 200, response.content
    return response.json()


def refreshes(token: str) -> bool:
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json").status_code == 200


def session_client(user, **kwargs) -> APIClient:
    client = APIClient(**kwargs)
    client.force_login(user)
    return client


def outstanding_unrevoked(user) -> int:
    return OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).count()


# --- Logout -------------------------------------------------------------------------------


def test_logout_with_a_token_revokes_every_refresh_token_of_the_user(api_client, user, events):
    laptop, phone = pair(api_client), pair(api_client)
    response = bearer_client(laptop["access"]).post(LOGOUT_URL)
    assert response.status_code == 204
    assert not refreshes(laptop["refresh"])
    assert not refreshes(phone["refresh"])
    assert outstanding_unrevoked(user) == 0
    [(signal, kwargs)] = events
    assert signal is signals.logout
    assert (kwargs["user"], kwargs["revoked"]) == (user, 2)


def test_logout_leaves_other_users_tokens_alone(api_client, user, member_of, organization):
    other = member_of(organization).user
    theirs = pair(api_client, email=other.email)
    assert bearer_client(pair(api_client)["access"]).post(LOGOUT_URL).status_code == 204
    assert refreshes(theirs["refresh"])


def test_logout_of_a_session_ends_it_and_revokes_refresh_tokens(api_client, user):
    tokens = pair(api_client)
    client = session_client(user)
    assert client.get("/api/v1/me/").status_code == 200
    assert client.post(LOGOUT_URL).status_code == 204
    assert client.get("/api/v1/me/").status_code == 401
    assert not refreshes(tokens["refresh"])


def test_session_logout_needs_the_csrf_token(user):
    client = session_client(user, enforce_csrf_checks=True)
    response = client.post(LOGOUT_URL)
    assert response.status_code == 403
    assert "CSRF" in error_of(response)["message"]
    assert client.get("/api/v1/me/").status_code == 200  # still signed in


def test_logout_needs_a_signed_in_caller(api_client, db):
    response = api_client.post(LOGOUT_URL)
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"


# --- Password change ----------------------------------------------------------------------


def test_a_password_change_revokes_refresh_tokens_and_keeps_the_session(api_client, user, events):
    tokens = pair(api_client)
    client = session_client(user)
    other_browser = session_client(user)

    response = client.post(
        PASSWORD_URL,
        {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert response.json() == {
        "detail": "Your password was changed.",
        "access": None,
        "refresh": None,
    }
    assert client.get("/api/v1/me/").status_code == 200  # this session stays signed in
    assert other_browser.get("/api/v1/me/").status_code == 401  # other sessions do not
    assert not refreshes(tokens["refresh"])
    assert bearer_client(tokens["access"]).get("/api/v1/me/").status_code == 401
    assert obtain(api_client).status_code == 401
    assert obtain(api_client, password=NEW_PASSWORD).status_code == 200
    [(signal, kwargs)] = events
    assert signal is signals.password_changed
    assert kwargs["user"] == user


def test_a_password_change_with_a_token_returns_a_new_pair(api_client, user):
    old = pair(api_client)
    other_device = pair(api_client)
    response = bearer_client(old["access"]).post(
        PASSWORD_URL,
        {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )
    assert response.status_code == 200, response.content
    new = response.json()
    assert bearer_client(new["access"]).get("/api/v1/me/").status_code == 200
    assert refreshes(new["refresh"])
    for revoked in (old, other_device):
        assert bearer_client(revoked["access"]).get("/api/v1/me/").status_code == 401
        assert not refreshes(revoked["refresh"])


def test_a_wrong_old_password_is_a_field_error_and_changes_nothing(api_client, user):
    tokens = pair(api_client)
    response = session_client(user).post(
        PASSWORD_URL, {"old_password": "not it", "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 400
    assert error_of(response)["details"] == {"old_password": ["The current password is incorrect."]}
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert refreshes(tokens["refresh"])


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short", "too short"),
        ("password123", "too common"),
        ("84736251940", "entirely numeric"),
        ("ada@example.com", "too similar"),
    ],
)
def test_the_new_password_must_pass_the_validators(user, new_password, message):
    response = session_client(user).post(
        PASSWORD_URL, {"old_password": TEST_PASSWORD, "new_password": new_password}, format="json"
    )
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert list(details) == ["new_password"]
    assert message in " ".join(details["new_password"])
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_password_fields_are_required(user):
    response = session_client(user).post(PASSWORD_URL, {}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == {"old_password", "new_password"}


def test_a_password_change_needs_a_signed_in_caller(api_client, db):
    response = api_client.post(
        PASSWORD_URL, {"old_password": TEST_PASSWORD, "new_password": NEW_PASSWORD}, format="json"
    )
    assert response.status_code == 401


def test_the_browsable_api_login_page_is_served(db):
    response = Client().get("/api-auth/login/")
    assert response.status_code == 200
    assert b"csrfmiddlewaretoken" in response.content


def test_a_password_set_anywhere_else_invalidates_every_token(api_client, user):
    """An admin resetting the password (or any other path) needs no call to revoke tokens."""
    tokens = pair(api_client)
    user.set_password(NEW_PASSWORD)
    user.save()
    assert bearer_client(tokens["access"]).get("/api/v1/me/").status_code == 401
    assert not refreshes(tokens["refresh"])
