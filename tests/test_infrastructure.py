"""The production services: PostgreSQL through the pool, Redis as cache and broker."""

import os

import pytest
from django.conf import settings
from django.core.cache import cache
from django.db import connection


@pytest.mark.postgres
@pytest.mark.django_db
def test_postgres_runs_through_psycopg3_and_the_connection_pool():
    assert connection.vendor == "postgresql"
    import psycopg

    assert connection.Database is psycopg
    assert "pool" in settings.DATABASES["default"]["OPTIONS"]
    assert connection.pool is not None
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int")
        assert cursor.fetchone()[0] >= 150000


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: REDIS_URL is not set")
def test_cache_is_redis_when_redis_url_is_set():
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    cache.set("agentry-probe", {"n": 1}, 10)
    assert cache.get("agentry-probe") == {"n": 1}
    client = cache._cache.get_client("agentry-probe")
    assert client.ping()


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="needs Redis: REDIS_URL is not set")
def test_celery_broker_is_redis_and_reachable():
    from config.celery import app

    assert app.conf.broker_url == settings.REDIS_URL
    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1)
        assert conn.connected
