"""Repeated failed sign-ins lock an account or a client IP out, for a growing period."""

import logging

import pytest
from django.test import Client

from apps.authn import lockout, services, signals

from ..factories import TEST_PASSWORD, UserFactory
from .conftest import ADMIN_LOGIN_URL, PASSWORD_URL, SESSION_LOGIN_URL, error_of, obtain

pytestmark = pytest.mark.django_db

THRESHOLD = 3
BASE_SECONDS = 60


@pytest.fixture(autouse=True)
def _lockout_settings(settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = THRESHOLD
    settings.LOGIN_LOCKOUT_SECONDS = BASE_SECONDS


@pytest.fixture
def password_checks(monkeypatch):
    """Count the password checks of the token endpoint."""
    calls = []
    real = services.authenticate

    def counting(*args, **kwargs):
        calls.append(kwargs.get("email"))
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "authenticate", counting)
    return calls


@pytest.fixture
def events():
    log = {"login_failed": [], "login_locked_out": [], "login_succeeded": []}
    handlers = []
    for name in log:

        def handler(sender, _name=name, **kwargs):
            log[_name].append(kwargs)

        getattr(signals, name).connect(handler, weak=False)
        handlers.append((getattr(signals, name), handler))
    yield log
    for signal, handler in handlers:
        signal.disconnect(handler)


def fail(client, times, email="ada@example.com", ip="127.0.0.1"):
    for _ in range(times):
        response = obtain(client, email=email, password="wrong password", ip=ip)
        assert response.status_code == 401, response.content


def assert_locked(response, seconds):
    assert response.status_code == 429, response.content
    error = error_of(response)
    assert error["code"] == "locked_out"
    assert error["details"] == {"retry_after": seconds}
    assert response["Retry-After"] == str(seconds)


# --- The token endpoint -----------------------------------------------------------------


def test_the_lockout_grows_and_ends(api_client, user, clock, password_checks, events):
    fail(api_client, THRESHOLD)
    checks_before = len(password_checks)

    # Locked: even the right password is refused, and not even checked.
    assert_locked(obtain(api_client), 60)
    assert len(password_checks) == checks_before

    clock.advance(30)
    assert_locked(obtain(api_client), 30)

    # After the lockout, more failures lock it again, for twice as long.
    clock.advance(31)
    fail(api_client, THRESHOLD)
    assert_locked(obtain(api_client), 120)
    clock.advance(119)
    assert_locked(obtain(api_client), 1)
    clock.advance(1)
    fail(api_client, THRESHOLD)
    assert_locked(obtain(api_client), 240)

    # A successful sign-in once it has ended works and forgets the history.
    clock.advance(240)
    assert obtain(api_client).status_code == 200
    fail(api_client, THRESHOLD)
    # The address keeps its history (a good sign-in must not launder an address's guesses
    # at other accounts), so the longer of the two lockouts is the answer here …
    assert_locked(obtain(api_client), 480)
    # … and the account alone, from another address, is locked for the first period again.
    assert_locked(obtain(api_client, ip="198.51.100.1"), 60)

    assert len(events["login_failed"]) == 4 * THRESHOLD
    locks = [(e["subject"], e["seconds"], e["level"]) for e in events["login_locked_out"]]
    assert locks == [
        ("account", 60, 1),
        ("ip", 60, 1),
        ("account", 120, 2),
        ("ip", 120, 2),
        ("account", 240, 3),
        ("ip", 240, 3),
        ("account", 60, 1),  # the account's history was reset by the sign-in …
        ("ip", 480, 4),  # … the address's was not
    ]
    assert [e["user"] for e in events["login_succeeded"]] == [user]


def test_failures_below_the_threshold_do_not_lock(api_client, user, clock):
    fail(api_client, THRESHOLD - 1, ip="203.0.113.1")
    assert obtain(api_client, ip="203.0.113.1").status_code == 200
    # The success reset the account's count: its next failures start from zero.
    fail(api_client, THRESHOLD - 1, ip="203.0.113.2")
    assert obtain(api_client, ip="203.0.113.2").status_code == 200


def test_a_good_sign_in_does_not_reset_the_addresss_count(api_client, user, clock):
    fail(api_client, THRESHOLD - 1, email="victim@example.com")
    assert obtain(api_client).status_code == 200
    fail(api_client, 1, email="other-victim@example.com")
    assert_locked(obtain(api_client), 60)


def test_the_lockout_is_capped_at_a_day():
    assert lockout.lockout_seconds(1) == BASE_SECONDS
    assert lockout.lockout_seconds(3) == 4 * BASE_SECONDS
    assert lockout.lockout_seconds(40) == lockout.MAX_LOCKOUT_SECONDS == 24 * 3600
    assert lockout.lockout_seconds(10_000) == 24 * 3600


def test_an_account_is_locked_whatever_address_the_guesses_come_from(api_client, user, clock):
    for n in range(THRESHOLD):
        fail(api_client, 1, ip=f"203.0.113.{n + 1}")
    assert_locked(obtain(api_client, ip="198.51.100.7"), 60)
    # Another account from that fresh address is unaffected.
    other = UserFactory(email="grace@example.com")
    assert obtain(api_client, email=other.email, ip="198.51.100.7").status_code == 200


def test_an_address_is_locked_whatever_accounts_it_tries(api_client, user, clock):
    for n in range(THRESHOLD):
        fail(api_client, 1, email=f"victim{n}@example.com", ip="203.0.113.9")
    assert_locked(obtain(api_client, ip="203.0.113.9"), 60)
    assert obtain(api_client, ip="203.0.113.10").status_code == 200


def test_a_forged_forwarded_for_header_does_not_escape_an_ip_lockout(api_client, user, clock):
    for n in range(THRESHOLD):
        fail(api_client, 1, email=f"victim{n}@example.com", ip="203.0.113.9")
    response = api_client.post(
        "/api/v1/auth/token/",
        {"email": user.email, "password": TEST_PASSWORD},
        format="json",
        REMOTE_ADDR="203.0.113.9",
        HTTP_X_FORWARDED_FOR="192.0.2.44",
    )
    assert_locked(response, 60)


def test_unknown_accounts_lock_out_like_real_ones(api_client, db, clock):
    fail(api_client, THRESHOLD, email="nobody@example.com")
    response = obtain(api_client, email="NOBODY@example.com", ip="198.51.100.1")
    assert_locked(response, 60)


def test_parallel_guesses_past_the_threshold_are_refused_before_the_password_check(user):
    attempts = [
        lockout.begin(email=user.email, ip="203.0.113.5", channel="token") for _ in range(THRESHOLD)
    ]
    # While those are being checked, one more is refused outright.
    with pytest.raises(lockout.LockedOut):
        lockout.begin(email=user.email, ip="203.0.113.5", channel="token")
    for attempt in attempts:
        lockout.fail(attempt)
    assert lockout.retry_after(email=user.email, ip="") == BASE_SECONDS


def test_an_unreachable_cache_lets_sign_ins_through_and_logs_it(
    api_client, user, monkeypatch, caplog
):
    class Down:
        def __getattr__(self, name):
            def fail(*args, **kwargs):
                raise ConnectionError("redis is down")

            return fail

    monkeypatch.setattr(lockout, "cache", Down())
    monkeypatch.setattr(lockout, "_cache_error_logged_at", 0.0)
    with caplog.at_level(logging.ERROR, logger="apps.authn.lockout"):
        fail(api_client, THRESHOLD + 2)
        assert obtain(api_client).status_code == 200
    errors = [r for r in caplog.records if "cache is unreachable" in r.getMessage()]
    assert len(errors) == 1  # logged once a minute, not once per call


def test_wrong_old_passwords_of_a_password_change_count_too(user, clock):
    client = Client()
    client.force_login(user)
    for _ in range(THRESHOLD):
        response = client.post(
            PASSWORD_URL,
            {"old_password": "guess", "new_password": "a brand new passphrase 42"},
            content_type="application/json",
        )
        assert response.status_code == 400
    response = client.post(
        PASSWORD_URL,
        {"old_password": TEST_PASSWORD, "new_password": "a brand new passphrase 42"},
        content_type="application/json",
    )
    assert_locked(response, 60)
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)


# --- The session logins ------------------------------------------------------------------


def session_login(client, email="ada@example.com", password=TEST_PASSWORD, url=SESSION_LOGIN_URL):
    return client.post(url, {"username": email, "password": password})


def test_the_browsable_api_login_locks_out_and_recovers(user, clock, monkeypatch):
    client = Client()
    for _ in range(THRESHOLD):
        assert session_login(client, password="wrong").status_code == 200  # the form again

    checks = []
    with monkeypatch.context() as patched:
        patched.setattr("django.contrib.auth.forms.authenticate", lambda *a, **k: checks.append(k))
        response = session_login(client)
    assert response.status_code == 429
    assert response["Retry-After"] == "60"
    assert b"Too many failed sign-ins" in response.content
    assert checks == []  # the password was not even checked
    assert client.get("/api/v1/me/").status_code == 401

    clock.advance(60)
    response = session_login(client)
    assert response.status_code == 302
    assert client.get("/api/v1/me/").json()["email"] == user.email


def test_the_session_login_and_the_token_endpoint_share_the_count(api_client, user, clock):
    fail(api_client, THRESHOLD - 1)
    assert session_login(Client(), password="wrong").status_code == 200
    assert_locked(obtain(api_client), 60)
    assert session_login(Client()).status_code == 429


def test_the_admin_login_locks_out(user, clock):
    user.is_staff = True
    user.save()
    client = Client()
    for _ in range(THRESHOLD):
        response = session_login(client, password="wrong", url=ADMIN_LOGIN_URL)
        assert response.status_code == 200
        assert b"correct email address and password" in response.content
    response = session_login(client, url=ADMIN_LOGIN_URL)
    assert response.status_code == 200
    assert b"Too many failed sign-ins" in response.content
    assert client.get("/admin/").status_code == 302  # not signed in
    clock.advance(60)
    assert session_login(client, url=ADMIN_LOGIN_URL).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_right_password_refused_by_the_admin_is_not_a_failure(user, clock, events):
    client = Client()
    for _ in range(THRESHOLD + 1):  # not staff: refused, with the right password
        assert session_login(client, url=ADMIN_LOGIN_URL).status_code == 200
    assert events["login_failed"] == []
    assert events["login_locked_out"] == []
    assert session_login(client).status_code == 302


def test_the_browsable_api_login_is_rate_limited_too(user, settings):
    settings.RATE_LIMIT_AUTH_MAX = 2
    client = Client()
    assert client.get(SESSION_LOGIN_URL).status_code == 200  # showing the form is free
    assert session_login(client, password="wrong").status_code == 200
    assert session_login(client, password="wrong").status_code == 200
    response = session_login(client)
    assert response.status_code == 429
    assert "Retry-After" in response
    assert b"Too many failed sign-ins" not in response.content  # the rate limit, not a lockout
