"""Password reset: a link by email that tells nobody which addresses have accounts, works
once, and signs the account out everywhere; through the API and the server-rendered page."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient

from apps.authn import services, signals
from apps.ratelimit import limiter

from ..factories import TEST_PASSWORD, UserFactory
from .conftest import REFRESH_URL, bearer_client, error_of, obtain

pytestmark = pytest.mark.django_db

RESET_URL = "/api/v1/auth/password/reset/"
CONFIRM_URL = "/api/v1/auth/password/reset/confirm/"
NEW_PASSWORD = "a brand new passphrase 42"
INVALID_LINK = {"token": ["This reset link is invalid or has expired."]}


@pytest.fixture
def events():
    """(signal, arguments) of every password-reset signal sent during the test."""
    log = []

    def handler(signal, sender, **kwargs):
        log.append((signal, kwargs))

    watched = (signals.password_reset_requested, signals.password_reset)
    for signal in watched:
        signal.connect(handler, weak=False)
    yield log
    for signal in watched:
        signal.disconnect(handler)


def request_reset(email, client=None, **extra):
    return (client or APIClient()).post(RESET_URL, {"email": email}, format="json", **extra)


def confirm(uid, token, new_password=NEW_PASSWORD, client=None):
    return (client or APIClient()).post(
        CONFIRM_URL, {"uid": uid, "token": token, "new_password": new_password}, format="json"
    )


def codes_from(message) -> tuple[str, str]:
    """The uid and token a reset email states for API clients."""
    uid = re.search(r"^uid:\s+(\S+)$", message.body, flags=re.MULTILINE).group(1)
    token = re.search(r"^token:\s+(\S+)$", message.body, flags=re.MULTILINE).group(1)
    return uid, token


def mailed_codes(email="ada@example.com") -> tuple[str, str]:
    assert request_reset(email).status_code == 202
    [message] = mail.outbox
    return codes_from(message)


def link_for(user) -> tuple[str, str]:
    return urlsafe_base64_encode(force_bytes(user.pk)), default_token_generator.make_token(user)


def refreshes(token: str) -> bool:
    return APIClient().post(REFRESH_URL, {"refresh": token}, format="json").status_code == 200


# --- Requesting a link --------------------------------------------------------------------


def test_a_known_address_gets_an_email_with_a_link_and_the_codes(user, settings):
    response = request_reset("ada@example.com")

    assert response.status_code == 202
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.from_email == settings.DEFAULT_FROM_EMAIL
    assert message.subject == "Reset your agentry password"
    uid, token = codes_from(message)
    assert f"http://127.0.0.1:8000/auth/password/reset/{uid}/{token}/" in message.body
    assert "3 days" in message.body  # PASSWORD_RESET_TIMEOUT's default
    assert "&amp;" not in message.body


def test_an_unknown_address_gets_the_same_answer_and_no_email(user):
    known = request_reset("ada@example.com")
    mail.outbox.clear()

    unknown = request_reset("nobody@example.com")

    assert unknown.status_code == known.status_code == 202
    assert unknown.json() == known.json()
    assert "detail" in unknown.json()
    assert mail.outbox == []


@pytest.mark.parametrize("reason", ["inactive", "no-password"])
def test_an_account_that_cannot_reset_gets_the_same_answer_and_no_email(user, reason):
    known = request_reset("ada@example.com")
    mail.outbox.clear()
    other = UserFactory(email="off@example.com")
    if reason == "inactive":
        other.is_active = False
    else:
        other.set_unusable_password()
    other.save()

    response = request_reset("off@example.com")

    assert response.status_code == 202
    assert response.json() == known.json()
    assert mail.outbox == []


def test_the_address_is_matched_case_insensitively_and_trimmed(user):
    assert request_reset("  Ada@EXAMPLE.com ").status_code == 202
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]


def test_the_link_follows_the_password_reset_url_setting(user, settings):
    settings.PASSWORD_RESET_URL = "https://app.example.com/reset?uid={uid}&token={token}"
    uid, token = mailed_codes()
    assert f"https://app.example.com/reset?uid={uid}&token={token}" in mail.outbox[0].body


def test_an_email_that_cannot_be_sent_still_gets_the_neutral_answer(user, monkeypatch):
    neutral = request_reset("nobody@example.com").json()

    def broken(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP is down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", broken)
    response = request_reset("ada@example.com")

    assert response.status_code == 202
    assert response.json() == neutral


def test_a_request_sends_password_reset_requested_known_or_not(user, events):
    request_reset("Ada@example.com", REMOTE_ADDR="198.51.100.7")
    request_reset("nobody@example.com", REMOTE_ADDR="198.51.100.8")

    [(first, known), (second, unknown)] = events
    assert first is second is signals.password_reset_requested
    assert (known["user"], known["email"], known["ip"]) == (user, "ada@example.com", "198.51.100.7")
    assert known["request"].path == RESET_URL
    assert (unknown["user"], unknown["email"], unknown["ip"]) == (
        None,
        "nobody@example.com",
        "198.51.100.8",
    )


# --- Confirming ---------------------------------------------------------------------------


def test_the_mailed_codes_set_the_new_password(user, api_client):
    uid, token = mailed_codes()

    response = confirm(uid, token)

    assert response.status_code == 200, response.content
    assert response.json() == {"detail": "Your password was reset. Sign in with the new one."}
    assert obtain(api_client, password=TEST_PASSWORD).status_code == 401
    assert obtain(api_client, password=NEW_PASSWORD).status_code == 200


def test_a_reset_signs_the_account_out_everywhere(user, api_client, events):
    laptop = obtain(api_client).json()
    phone = obtain(api_client).json()
    session = APIClient()
    session.force_login(user)
    uid, token = mailed_codes()

    assert confirm(uid, token).status_code == 200

    for pair in (laptop, phone):
        assert not refreshes(pair["refresh"])
        assert bearer_client(pair["access"]).get("/api/v1/me/").status_code == 401
    assert session.get("/api/v1/me/").status_code == 401
    reset = [kwargs for signal, kwargs in events if signal is signals.password_reset]
    assert len(reset) == 1
    assert (reset[0]["user"], reset[0]["revoked"]) == (user, 2)
    assert reset[0]["request"].path == CONFIRM_URL


def test_a_link_works_once(user):
    uid, token = mailed_codes()
    assert confirm(uid, token).status_code == 200

    again = confirm(uid, token, new_password="yet another passphrase 77")

    assert again.status_code == 400
    assert error_of(again)["details"] == INVALID_LINK
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_a_newer_link_leaves_an_older_one_working_until_either_is_used(user):
    first = mailed_codes()
    mail.outbox.clear()
    second = mailed_codes()
    assert confirm(*second).status_code == 200
    assert confirm(*first).status_code == 400


def tampered(value: str) -> str:
    return value[:-1] + ("a" if value[-1] != "a" else "b")


@pytest.mark.parametrize(
    "spoil",
    [
        lambda uid, token, other: (uid, tampered(token)),
        lambda uid, token, other: (tampered(uid), token),
        lambda uid, token, other: (other, token),
        lambda uid, token, other: ("not base64 at all!", token),
        lambda uid, token, other: (urlsafe_base64_encode(b"not-a-uuid"), token),
        lambda uid, token, other: (uid, "1-2-3"),
    ],
    ids=["token", "uid", "other-user", "garbage-uid", "uid-not-a-key", "garbage-token"],
)
def test_a_spoiled_link_is_a_field_error_in_the_envelope(user, spoil):
    other_uid, _ = link_for(UserFactory())
    uid, token = spoil(*mailed_codes(), other_uid)

    response = confirm(uid, token)

    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "validation_error"
    assert error["details"] == INVALID_LINK
    assert error["request_id"] == response["X-Request-ID"]
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_an_expired_link_is_refused(user, settings, monkeypatch):
    uid, token = mailed_codes()
    later = default_token_generator._now() + timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT + 1)
    monkeypatch.setattr(default_token_generator, "_now", lambda: later)

    response = confirm(uid, token)

    assert response.status_code == 400
    assert error_of(response)["details"] == INVALID_LINK


def test_a_link_of_an_account_disabled_since_is_refused(user):
    uid, token = mailed_codes()
    user.is_active = False
    user.save()
    response = confirm(uid, token)
    assert response.status_code == 400
    assert error_of(response)["details"] == INVALID_LINK


@pytest.mark.parametrize(
    ("new_password", "message"),
    [
        ("short", "too short"),
        ("password123", "too common"),
        ("84736251940", "entirely numeric"),
        ("ada@example.com", "too similar"),
    ],
)
def test_a_weak_new_password_is_refused_and_the_link_still_works(
    user, api_client, events, new_password, message
):
    tokens = obtain(api_client).json()
    uid, token = mailed_codes()

    response = confirm(uid, token, new_password=new_password)

    assert response.status_code == 400
    details = error_of(response)["details"]
    assert list(details) == ["new_password"]
    assert message in " ".join(details["new_password"])
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert refreshes(tokens["refresh"])
    assert not [signal for signal, _kwargs in events if signal is signals.password_reset]
    assert confirm(uid, token).status_code == 200


@pytest.mark.parametrize(
    ("url", "fields"),
    [(RESET_URL, {"email"}), (CONFIRM_URL, {"uid", "token", "new_password"})],
)
def test_missing_fields_are_field_errors(db, url, fields):
    response = APIClient().post(url, {}, format="json")
    assert response.status_code == 400
    assert set(error_of(response)["details"]) == fields


@pytest.mark.parametrize("url", [RESET_URL, CONFIRM_URL])
@pytest.mark.parametrize("body", ['{"email": ', "[1, 2]", '"text"', "null"])
def test_a_malformed_body_is_a_400_not_a_500(db, url, body):
    response = APIClient().post(url, body, content_type="application/json")
    assert response.status_code == 400
    assert "error" in response.json()


def test_a_malformed_email_is_a_field_error(db):
    response = request_reset("not an address")
    assert response.status_code == 400
    assert list(error_of(response)["details"]) == ["email"]
    assert mail.outbox == []


# --- Rate limit ---------------------------------------------------------------------------


@pytest.fixture
def stopped_clock(monkeypatch):
    """The limiter's clock at the start of a window, so a test never straddles two."""
    monkeypatch.setattr(limiter, "clock", lambda: 60 * 5 * 3_333_334.0)


@pytest.mark.usefixtures("stopped_clock")
@pytest.mark.parametrize(
    ("url", "body", "allowed"),
    [
        (RESET_URL, {"email": "ada@example.com"}, 202),
        (CONFIRM_URL, {"uid": "x", "token": "y", "new_password": NEW_PASSWORD}, 400),
    ],
)
def test_reset_endpoints_are_counted_per_ip_under_the_auth_scope(
    user, settings, url, body, allowed
):
    # The default budget would refuse the second request: only the "auth" one is spent.
    settings.RATE_LIMIT_MAX = 1
    settings.RATE_LIMIT_AUTH_MAX = 2
    settings.RATE_LIMIT_AUTH_TTL = 60
    client = APIClient()

    responses = [
        client.post(url, body, format="json", REMOTE_ADDR="198.51.100.1") for _ in range(3)
    ]

    assert [r.status_code for r in responses] == [allowed, allowed, 429]
    assert error_of(responses[2])["code"] == "throttled"
    assert int(responses[2]["Retry-After"]) >= 1
    # Another address has its own budget.
    other = client.post(url, body, format="json", REMOTE_ADDR="198.51.100.2")
    assert other.status_code == allowed


# --- The server-rendered page -------------------------------------------------------------


def page_path(uid: str, token: str) -> str:
    return f"/auth/password/reset/{uid}/{token}/"


def test_the_emailed_link_opens_a_page_that_resets_the_password(user, api_client, events):
    tokens = obtain(api_client).json()
    uid, token = mailed_codes()
    browser = Client()

    opened = browser.get(page_path(uid, token))
    # Django moves the token into the session, out of the URL (and the Referer header).
    assert opened.status_code == 302
    form_path = page_path(uid, "set-password")
    assert opened["Location"] == form_path
    form = browser.get(form_path)
    assert form.status_code == 200
    assert b'name="new_password1"' in form.content
    assert token.encode() not in form.content

    done = browser.post(form_path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})

    assert done.status_code == 302
    assert done["Location"] == "/auth/password/reset/complete/"
    complete = browser.get(done["Location"])
    assert complete.status_code == 200
    assert b"Your password has been set" in complete.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not refreshes(tokens["refresh"])
    [kwargs] = [k for s, k in events if s is signals.password_reset]
    assert (kwargs["user"], kwargs["revoked"]) == (user, 1)
    assert kwargs["request"].path == form_path
    # The link is spent: opening it again shows Django's "unsuccessful" page.
    again = Client().get(page_path(uid, token))
    assert again.status_code == 200
    assert b"invalid" in again.content


def test_the_page_refuses_a_weak_password_with_the_validators_messages(user):
    uid, token = mailed_codes()
    browser = Client()
    form_path = browser.get(page_path(uid, token))["Location"]

    response = browser.post(form_path, {"new_password1": "short", "new_password2": "short"})

    assert response.status_code == 200
    assert b"too short" in response.content
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


def test_the_page_shows_a_spoiled_link_as_invalid(user):
    uid, token = mailed_codes()
    response = Client().get(page_path(uid, tampered(token)))
    assert response.status_code == 200
    assert b"invalid" in response.content
    assert b'name="new_password1"' not in response.content


def test_the_page_refuses_a_link_used_through_the_api_meanwhile(user, events):
    uid, token = mailed_codes()
    browser = Client()
    form_path = browser.get(page_path(uid, token))["Location"]
    assert confirm(uid, token).status_code == 200

    response = browser.post(
        form_path, {"new_password1": "yet another passphrase 77", "new_password2": "x"}
    )

    assert response.status_code == 200
    assert b'name="new_password1"' not in response.content
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)


def test_the_page_shows_the_invalid_page_when_the_service_refuses_the_link(user, monkeypatch):
    """A link spent by another request between showing the form and posting it."""
    uid, token = mailed_codes()
    browser = Client()
    form_path = browser.get(page_path(uid, token))["Location"]

    def spent(**kwargs):
        raise services.InvalidResetLink

    monkeypatch.setattr(services, "password_reset_confirm", spent)
    response = browser.post(
        form_path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    )

    assert response.status_code == 200
    assert b"invalid" in response.content
    assert b'name="new_password1"' not in response.content


def test_the_page_of_a_disabled_account_is_invalid(user):
    uid, token = link_for(user)
    user.is_active = False
    user.save()
    response = Client().get(page_path(uid, token))
    assert response.status_code == 200
    assert b'name="new_password1"' not in response.content


@pytest.mark.usefixtures("stopped_clock")
def test_the_page_s_form_posts_are_under_the_auth_rate_limit(user, settings):
    uid, token = mailed_codes()  # one of the address's "auth" budget, shared with the page
    settings.RATE_LIMIT_AUTH_MAX = 2
    browser = Client()
    form_path = browser.get(page_path(uid, token))["Location"]
    weak = {"new_password1": "short", "new_password2": "short"}

    assert browser.get(form_path).status_code == 200  # showing the form is free
    assert browser.post(form_path, weak).status_code == 200
    assert browser.post(form_path, weak).status_code == 429


def test_a_reset_lifts_the_account_s_lockout(user, api_client, settings):
    """The owner of a locked-out account gets back in right after a reset."""
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    for _ in range(2):
        api_client.post(
            "/api/v1/auth/token/",
            {"email": user.email, "password": "wrong guess"},
            REMOTE_ADDR="203.0.113.9",
        )
    locked = obtain(api_client, user.email, TEST_PASSWORD)
    assert locked.status_code == 429

    uid, token = link_for(user)
    assert confirm(uid, token).status_code == 200

    signed_in = obtain(api_client, user.email, NEW_PASSWORD)
    assert signed_in.status_code == 200, signed_in.content
