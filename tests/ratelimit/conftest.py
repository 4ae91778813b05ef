import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

from apps.ratelimit import limiter

# The start of a 60-second (and of a 300-second) window.
WINDOW_START = 60 * 5 * 3_333_334


class FakeClock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float):
        self.now += seconds


@pytest.fixture(autouse=True)
def _fresh_limiter_status():
    limiter.reset_limiter_status()
    yield
    limiter.reset_limiter_status()


@pytest.fixture
def clock(monkeypatch):
    """The limiter's clock, stopped at the start of a window; `clock.advance(s)` moves it."""
    fake = FakeClock(float(WINDOW_START))
    monkeypatch.setattr(limiter, "clock", fake)
    return fake


@pytest.fixture
def limits(settings, clock):
    """Small budgets: 3 requests a minute by default, 2 per 5 minutes on "auth" endpoints."""
    settings.RATE_LIMIT_MAX = 3
    settings.RATE_LIMIT_TTL = 60
    settings.RATE_LIMIT_AUTH_MAX = 2
    settings.RATE_LIMIT_AUTH_TTL = 300
    settings.TRUSTED_PROXIES = []
    return settings


@pytest.fixture
def redis_only():
    if not isinstance(caches["default"], RedisCache):
        pytest.skip("needs Redis: REDIS_URL is not set, so the limiter counts in this process")
