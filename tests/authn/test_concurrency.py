"""Races: one refresh token exchanged at once by many; a burst of parallel password guesses."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.authn import services

from ..factories import TEST_PASSWORD, UserFactory
from .conftest import REFRESH_URL, TOKEN_URL

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(requests):
    """Run the callables at the same moment in threads; return their responses."""
    barrier = threading.Barrier(len(requests))
    responses = []

    def run(request):
        try:
            barrier.wait()
            responses.append(request())
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def test_one_refresh_token_exchanged_in_parallel_succeeds_once():
    user = UserFactory(email="ada@example.com")
    pair = APIClient().post(
        TOKEN_URL, {"email": user.email, "password": TEST_PASSWORD}, format="json"
    )
    refresh = pair.json()["refresh"]

    def exchange():
        client = APIClient(raise_request_exception=False)
        return client.post(REFRESH_URL, {"refresh": refresh}, format="json")

    responses = race([exchange for _ in range(6)])
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [401] * 5
    # The losers presented a used token: treated as a copy, every refresh token is revoked.
    [winner] = [r for r in responses if r.status_code == 200]
    again = APIClient().post(REFRESH_URL, {"refresh": winner.json()["refresh"]}, format="json")
    assert again.status_code == 401


def test_a_burst_of_parallel_guesses_gets_at_most_threshold_password_checks(settings, monkeypatch):
    settings.LOGIN_LOCKOUT_THRESHOLD = 3
    settings.RATE_LIMIT_AUTH_MAX = 10_000
    user = UserFactory(email="ada@example.com")
    checks = []
    real = services.authenticate

    def counting(*args, **kwargs):
        checks.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "authenticate", counting)

    def guess():
        client = APIClient(raise_request_exception=False)
        return client.post(TOKEN_URL, {"email": user.email, "password": "guess"}, format="json")

    responses = race([guess for _ in range(12)])
    statuses = [response.status_code for response in responses]
    # Each guess is counted against the account and the address before its check; one whose
    # count passes the threshold on either is refused, so at most THRESHOLD are checked.
    assert 1 <= len(checks) <= 3
    assert statuses.count(401) == len(checks)
    assert statuses.count(429) == 12 - len(checks)
