"""JWT: obtaining, refreshing with rotation, reuse detection, and tokens against the permissions."""

from datetime import timedelta

import jwt
import pytest
from django.conf import settings as django_settings
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.access.roles import builtin_role
from apps.agents.models import Agent
from apps.authn import signals
from apps.authn.authentication import JWTAuthentication
from apps.authn.tokens import RefreshToken
from apps.organizations.models import BuiltinRole, Membership

from ..factories import TEST_PASSWORD, UserFactory
from .conftest import REFRESH_URL, bearer_client, error_of, obtain

pytestmark = pytest.mark.django_db

AGENTS_URL = "/api/v1/orgs/acme/agents/"
NEW_AGENT = {"name": "Support bot", "model_name": "gpt-4o-mini"}


def claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def pair_for(api_client, user) -> dict:
    response = obtain(api_client, email=user.email)
    assert response.status_code == 200, response.content
    return response.json()


def refresh(api_client, token: str):
    return api_client.post(REFRESH_URL, {"refresh": token}, format="json")


@pytest.fixture
def received():
    """Record what the authn signals send: received["refresh_token_reused"] -> [kwargs, ...]."""
    log = {}
    handlers = []
    for name in ("refresh_token_reused", "login_succeeded", "login_failed"):
        log[name] = []

        def handler(sender, _name=name, **kwargs):
            log[_name].append(kwargs)

        getattr(signals, name).connect(handler, weak=False)
        handlers.append((getattr(signals, name), handler))
    yield log
    for signal, handler in handlers:
        signal.disconnect(handler)


# --- Obtaining a pair ---------------------------------------------------------------------


def test_a_correct_password_obtains_an_access_and_a_refresh_token(api_client, user):
    response = obtain(api_client)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"access", "refresh"}
    access, refresh_claims = claims(body["access"]), claims(body["refresh"])
    assert access["token_type"] == "access"
    assert refresh_claims["token_type"] == "refresh"
    assert access["user_id"] == refresh_claims["user_id"] == str(user.pk)
    assert OutstandingToken.objects.filter(user=user, jti=refresh_claims["jti"]).exists()


def test_lifetimes_follow_jwt_expiration_and_refresh_token_expiration(api_client, user, settings):
    settings.JWT_EXPIRATION = 120
    settings.REFRESH_TOKEN_EXPIRATION = 3600
    body = pair_for(api_client, user)
    access, refresh_claims = claims(body["access"]), claims(body["refresh"])
    assert access["exp"] - access["iat"] == 120
    assert refresh_claims["exp"] - refresh_claims["iat"] == 3600

    settings.JWT_EXPIRATION = 30
    settings.REFRESH_TOKEN_EXPIRATION = 600
    rotated = refresh(api_client, body["refresh"]).json()
    access, refresh_claims = claims(rotated["access"]), claims(rotated["refresh"])
    assert access["exp"] - access["iat"] == 30
    assert refresh_claims["exp"] - refresh_claims["iat"] == 600


def test_default_lifetimes_are_the_settings_defaults(api_client, user):
    body = pair_for(api_client, user)
    access = claims(body["access"])
    assert access["exp"] - access["iat"] == django_settings.JWT_EXPIRATION == 15 * 60


def test_the_access_token_carries_organization_roles_as_hints(
    api_client, organization, other_organization, member_of
):
    editor = member_of(organization, BuiltinRole.EDITOR).user
    Membership.objects.create(
        organization=other_organization, user=editor, role=builtin_role(BuiltinRole.VIEWER)
    )
    access = claims(pair_for(api_client, editor)["access"])
    assert access["orgs"] == {"acme": "editor", "globex": "viewer"}


def test_the_email_is_matched_whatever_its_case(api_client, user):
    assert obtain(api_client, email="  ADA@Example.COM ").status_code == 200


@pytest.mark.parametrize(
    ("email", "password"),
    [
        ("ada@example.com", "wrong password"),
        ("nobody@example.com", TEST_PASSWORD),
        ("ada@example.com", f" {TEST_PASSWORD}"),  # passwords are never trimmed
    ],
)
def test_wrong_credentials_get_one_generic_401(api_client, user, email, password):
    response = obtain(api_client, email=email, password=password)
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "invalid_credentials"
    assert error["message"] == "The email address or password is incorrect."
    assert error["details"] == {}
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'


def test_an_inactive_user_gets_the_same_401_as_a_wrong_password(api_client, user):
    user.is_active = False
    user.save()
    response = obtain(api_client)
    assert response.status_code == 401
    assert error_of(response)["message"] == "The email address or password is incorrect."


def test_missing_fields_are_field_errors(api_client, db):
    response = api_client.post("/api/v1/auth/token/", {"email": ""}, format="json")
    assert response.status_code == 400
    details = error_of(response)["details"]
    assert set(details) == {"email", "password"}


def test_obtaining_sets_last_login_and_refreshing_does_not(api_client, user):
    assert user.last_login is None
    body = pair_for(api_client, user)
    user.refresh_from_db()
    first_login = user.last_login
    assert first_login is not None
    assert refresh(api_client, body["refresh"]).status_code == 200
    user.refresh_from_db()
    assert user.last_login == first_login


# --- Refreshing: rotation and reuse ------------------------------------------------------


def test_refresh_rotates_the_pair_and_blacklists_the_presented_token(api_client, user):
    first = pair_for(api_client, user)
    response = refresh(api_client, first["refresh"])
    assert response.status_code == 200, response.content
    second = response.json()
    assert set(second) == {"access", "refresh"}
    assert second["refresh"] != first["refresh"]
    assert claims(second["refresh"])["jti"] != claims(first["refresh"])["jti"]
    assert BlacklistedToken.objects.filter(token__jti=claims(first["refresh"])["jti"]).exists()
    # The new refresh token works in turn, and the new access token authenticates.
    assert refresh(api_client, second["refresh"]).status_code == 200
    assert bearer_client(second["access"]).get("/api/v1/me/").status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_every_refresh_token_of_the_user(
    api_client, user, received
):
    laptop = pair_for(api_client, user)
    phone = pair_for(api_client, user)
    rotated = refresh(api_client, laptop["refresh"]).json()

    reused = refresh(api_client, laptop["refresh"])  # a copy of the old token comes back

    assert reused.status_code == 401
    assert error_of(reused)["code"] == "token_not_valid"
    assert "already used" in error_of(reused)["message"]
    # Both the thief's and the owner's chains are cut, and the other device's too.
    assert refresh(api_client, rotated["refresh"]).status_code == 401
    assert refresh(api_client, phone["refresh"]).status_code == 401
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    [event] = received["refresh_token_reused"]
    assert event["user"] == user
    assert event["jti"] == claims(laptop["refresh"])["jti"]
    assert event["revoked"] == 2


def test_a_refresh_token_revoked_by_logout_is_refused_without_a_theft_alarm(
    api_client, user, received
):
    old = pair_for(api_client, user)
    assert bearer_client(old["access"]).post("/api/v1/auth/logout/").status_code == 204
    new = pair_for(api_client, user)
    response = refresh(api_client, old["refresh"])
    assert response.status_code == 401
    assert "revoked" in error_of(response)["message"]
    assert received["refresh_token_reused"] == []
    assert refresh(api_client, new["refresh"]).status_code == 200


@pytest.mark.parametrize(
    "token",
    ["", "garbage", "a.b.c", "x" * 5000],
    ids=["empty", "garbage", "three-parts", "huge"],
)
def test_malformed_refresh_tokens_are_refused_without_a_500(api_client, user, token):
    response = refresh(api_client, token)
    assert response.status_code in (400, 401)
    assert "error" in response.json()


def test_an_access_token_cannot_be_used_to_refresh(api_client, user):
    body = pair_for(api_client, user)
    response = refresh(api_client, body["access"])
    assert response.status_code == 401
    assert error_of(response) | {"request_id": None} == {
        "code": "token_not_valid",
        "message": "The refresh token is not valid.",
        "details": {},
        "request_id": None,
    }


def test_an_expired_refresh_token_is_refused(api_client, user):
    token = RefreshToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(days=30))
    response = refresh(api_client, str(token))
    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]


@pytest.mark.parametrize("change", ["inactive", "deleted"])
def test_refresh_tokens_of_an_inactive_or_deleted_user_are_refused(api_client, user, change):
    body = pair_for(api_client, user)
    if change == "inactive":
        user.is_active = False
        user.save()
    else:
        user.delete()
    response = refresh(api_client, body["refresh"])
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"


# --- Access tokens on API requests -------------------------------------------------------


def test_a_viewers_token_lists_agents_and_cannot_create_one(api_client, organization, member_of):
    viewer = member_of(organization, BuiltinRole.VIEWER).user
    client = bearer_client(pair_for(api_client, viewer)["access"])
    assert client.get(AGENTS_URL).status_code == 200
    response = client.post(AGENTS_URL, NEW_AGENT, format="json")
    assert response.status_code == 403
    assert error_of(response)["code"] == "permission_denied"
    assert not Agent.objects.exists()


def test_a_demoted_users_valid_token_loses_the_write_on_the_next_request(
    api_client, organization, member_of
):
    membership = member_of(organization, BuiltinRole.EDITOR)
    access = pair_for(api_client, membership.user)["access"]
    assert claims(access)["orgs"] == {"acme": "editor"}  # the hint is now stale …
    client = bearer_client(access)
    assert client.post(AGENTS_URL, NEW_AGENT, format="json").status_code == 201

    membership.role = builtin_role(BuiltinRole.VIEWER)
    membership.save()

    # … and the server does not believe it.
    response = client.post(AGENTS_URL, {**NEW_AGENT, "name": "Second"}, format="json")
    assert response.status_code == 403
    assert Agent.objects.count() == 1

    membership.delete()
    assert client.get(AGENTS_URL).status_code == 404


def test_a_token_of_another_organization_sees_nothing_of_acme(
    api_client, organization, other_organization, member_of
):
    outsider = member_of(other_organization, BuiltinRole.OWNER).user
    client = bearer_client(pair_for(api_client, outsider)["access"])
    assert client.get(AGENTS_URL).status_code == 404


@pytest.mark.parametrize("change", ["inactive", "deleted"])
def test_access_tokens_of_an_inactive_or_deleted_user_get_401(api_client, user, change):
    client = bearer_client(pair_for(api_client, user)["access"])
    assert client.get("/api/v1/me/").status_code == 200
    if change == "inactive":
        user.is_active = False
        user.save()
    else:
        user.delete()
    response = client.get("/api/v1/me/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"


def test_an_expired_access_token_gets_401(user):
    access = RefreshToken.for_user(user).access_token
    access.set_exp(from_time=timezone.now() - timedelta(hours=1))
    response = bearer_client(str(access)).get("/api/v1/me/")
    assert response.status_code == 401
    error = error_of(response)
    assert error["code"] == "token_not_valid"
    assert "expired" in error["message"]
    assert error["details"] == {}


def test_an_access_token_expires_after_jwt_expiration(api_client, user, settings):
    # A negative lifetime makes tokens that are already past their expiry when issued.
    settings.JWT_EXPIRATION = -1
    access = pair_for(api_client, user)["access"]
    response = bearer_client(access).get("/api/v1/me/")
    assert response.status_code == 401
    assert "expired" in error_of(response)["message"]
    settings.JWT_EXPIRATION = 60
    assert bearer_client(pair_for(api_client, user)["access"]).get("/api/v1/me/").status_code == 200


def _foreign_token(user) -> str:
    token = RefreshToken.for_user(user).access_token
    return jwt.encode(token.payload, "not-our-signing-key-" * 3, algorithm="HS256")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer one two",
        "Bearer not-a-token",
        "Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA",
        "Bearer {foreign}",
        "Bearer {refresh}",
        "Bearer {none_alg}",
    ],
    ids=[
        "no-token",
        "two-values",
        "garbage",
        "bad-signature",
        "foreign-key",
        "refresh",
        "alg-none",
    ],
)
def test_bad_bearer_tokens_get_401_with_the_envelope_and_no_internals(api_client, user, header):
    refresh_token = RefreshToken.for_user(user)
    none_alg = jwt.encode(dict(refresh_token.access_token.payload), None, algorithm="none")
    header = header.format(
        foreign=_foreign_token(user), refresh=str(refresh_token), none_alg=none_alg
    )
    api_client.credentials(HTTP_AUTHORIZATION=header)
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401, response.content
    error = error_of(response)
    assert error["code"] == "token_not_valid"
    assert error["details"] == {}
    assert "token_class" not in response.content.decode()
    assert "WWW-Authenticate" in response


def test_a_bad_bearer_token_is_refused_even_with_a_valid_session(client_for, user):
    from django.test import Client

    session = Client()
    session.force_login(user)
    assert session.get("/api/v1/me/").status_code == 200
    response = session.get("/api/v1/me/", HTTP_AUTHORIZATION="Bearer not-a-token")
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"


def test_the_bearer_scheme_is_case_insensitive(api_client, user):
    access = pair_for(api_client, user)["access"]
    api_client.credentials(HTTP_AUTHORIZATION=f"bearer {access}")
    assert api_client.get("/api/v1/me/").json()["email"] == user.email


def test_other_authorization_schemes_are_left_to_other_classes(user):
    request = type("Request", (), {"META": {"HTTP_AUTHORIZATION": "Basic YTpi"}})()
    assert JWTAuthentication().authenticate(request) is None


def test_the_challenge_is_bearer_with_the_api_realm():
    assert JWTAuthentication().authenticate_header(None) == 'Bearer realm="api"'


def test_anonymous_requests_get_401_with_a_challenge(api_client, db):
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "not_authenticated"
    assert response["WWW-Authenticate"]


def test_tokens_are_signed_with_the_secret_key(api_client, user):
    access = pair_for(api_client, user)["access"]
    decoded = jwt.decode(access, django_settings.SECRET_KEY, algorithms=["HS256"])
    assert decoded["user_id"] == str(user.pk)


def test_a_token_whose_claims_were_edited_gets_401(api_client, user):
    other = UserFactory()
    header, _payload, signature = pair_for(api_client, user)["access"].split(".")
    forged = RefreshToken.for_user(other).access_token
    forged_payload = str(forged).split(".")[1]
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {header}.{forged_payload}.{signature}")
    response = api_client.get("/api/v1/me/")
    assert response.status_code == 401
    assert error_of(response)["code"] == "token_not_valid"
