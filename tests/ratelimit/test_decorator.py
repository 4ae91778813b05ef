"""`rate_limited` counts plain Django views like the API's throttle counts DRF views."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from apps.ratelimit.decorators import rate_limited
from tests.factories import UserFactory

pytestmark = [pytest.mark.usefixtures("limits"), pytest.mark.urls("tests.ratelimit.urls")]


def test_an_api_path_is_refused_with_the_envelope_and_retry_after(clock):
    client = Client()
    allowed = [client.get("/api/plain/") for _ in range(2)]
    clock.advance(100)
    refused = client.get("/api/plain/")
    assert [r.status_code for r in allowed] == [200, 200]
    assert allowed[0]["RateLimit-Limit"] == "2"
    assert allowed[0]["RateLimit-Remaining"] == "1"
    assert refused.status_code == 429
    assert refused["Retry-After"] == "200"
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["RateLimit-Reset"] == "200"
    error = refused.json()["error"]
    assert error["code"] == "throttled"
    assert error["details"] == {"retry_after": 200}
    assert error["request_id"] == refused["X-Request-ID"]


def test_a_page_is_refused_with_a_plain_429():
    client = Client()
    assert [client.get("/plain/").status_code for _ in range(2)] == [200, 200]
    refused = client.get("/plain/")
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/plain")
    assert refused["Retry-After"] == "300"
    assert b"Too many requests" in refused.content


def test_only_the_named_methods_are_counted():
    client = Client()
    shown = [client.get("/form/") for _ in range(5)]
    assert [r.status_code for r in shown] == [200] * 5
    assert "RateLimit-Limit" not in shown[0]
    assert [client.post("/form/").status_code for _ in range(3)] == [200, 200, 429]


def test_the_decorator_and_the_throttle_share_the_scope_s_budget():
    client = Client()
    assert client.get("/api/auth-ping/").status_code == 200
    assert client.get("/plain/").status_code == 200
    assert client.get("/api/auth-ping/").status_code == 429
    assert client.get("/plain/").status_code == 429


@pytest.mark.django_db
def test_the_auth_scope_counts_per_client_ip_whoever_signs_in():
    alice, bob = Client(), Client()
    alice.force_login(UserFactory())
    bob.force_login(UserFactory())
    assert [alice.get("/plain/").status_code for _ in range(2)] == [200, 200]
    # Another account from the same address shares the budget: accounts are no fresh budget.
    assert bob.get("/plain/").status_code == 429
    assert bob.get("/plain/", REMOTE_ADDR="198.51.100.77").status_code == 200


def test_an_unknown_scope_is_refused_when_decorating():
    with pytest.raises(ImproperlyConfigured, match="Unknown rate-limit scope 'login'"):
        rate_limited("login")
