import pytest
from rest_framework.test import APIClient

from apps.authn import lockout

from ..factories import TEST_PASSWORD, UserFactory

TOKEN_URL = "/api/v1/auth/token/"
REFRESH_URL = "/api/v1/auth/token/refresh/"
LOGOUT_URL = "/api/v1/auth/logout/"
PASSWORD_URL = "/api/v1/auth/password/"
SESSION_LOGIN_URL = "/api-auth/login/"
ADMIN_LOGIN_URL = "/admin/login/"


@pytest.fixture(autouse=True)
def _generous_rate_limit(settings):
    """These tests sign in more often than the "auth" rate limit allows: the lockout is tested."""
    settings.RATE_LIMIT_AUTH_MAX = 10_000
    settings.RATE_LIMIT_MAX = 10_000


@pytest.fixture
def user(db):
    return UserFactory(email="ada@example.com")


class Clock:
    """The lockout's clock, moved by hand."""

    def __init__(self, start: float = 1_900_000_000.0):
        self.time = start

    def __call__(self) -> float:
        return self.time

    def advance(self, seconds: float) -> None:
        self.time += seconds


@pytest.fixture
def clock(monkeypatch):
    fake = Clock()
    monkeypatch.setattr(lockout, "now", fake)
    return fake


def obtain(client, email="ada@example.com", password=TEST_PASSWORD, ip="127.0.0.1"):
    return client.post(
        TOKEN_URL, {"email": email, "password": password}, format="json", REMOTE_ADDR=ip
    )


def bearer_client(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


def error_of(response) -> dict:
    return response.json()["error"]
