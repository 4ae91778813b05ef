"""The health check reports the rate limiter's store."""

import pytest

pytestmark = pytest.mark.django_db


def test_health_reports_database_cache_and_rate_limiter(client):
    response = client.get("/health/?format=json")
    assert response.status_code == 200
    body = response.json()
    assert set(body) >= {"Database(alias='default')", "Cache(alias='default')", "RateLimiter()"}
    assert all(value == "OK" for value in body.values())


def test_health_reports_an_unreachable_rate_limiter_store(client, settings):
    from apps.ratelimit.limiter import reset_limiter_status

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    try:
        response = client.get("/health/?format=json")
        body = response.json()
        assert response.status_code == 500
        assert "unavailable" in body["RateLimiter()"]
    finally:
        reset_limiter_status()
