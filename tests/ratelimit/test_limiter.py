"""The counter: fixed windows, atomic increments, and serving requests when its store is down."""

import logging
import threading

import pytest
from django.core.cache import caches
from django.test import Client

from apps.ratelimit import limiter
from apps.ratelimit.limiter import Count, hit, limiter_status

DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        # Port 1 on loopback: nothing listens, the connection is refused at once.
        "LOCATION": "redis://127.0.0.1:1/0",
        "KEY_PREFIX": "agentry",
    }
}


def test_a_hit_returns_the_count_the_limit_and_the_seconds_to_the_reset(clock):
    clock.advance(12.25)
    assert hit("b", limit=2, period=60) == (1, 2, 48)
    count, limit, reset = hit("b", limit=2, period=60)
    assert (count, limit, reset) == (2, 2, 48)
    third = hit("b", limit=2, period=60)
    assert third.count == 3
    assert third.remaining == 0
    assert not third.is_allowed


def test_buckets_and_windows_are_counted_apart(clock):
    assert hit("a", limit=5, period=60).count == 1
    assert hit("b", limit=5, period=60).count == 1
    assert hit("a", limit=5, period=10).count == 1  # another window length, another counter
    clock.advance(60)
    assert hit("a", limit=5, period=60) == Count(count=1, limit=5, reset=60)


def test_the_status_names_the_backend_in_use(settings, clock):
    hit("a", limit=5, period=60)
    status = limiter_status()
    expected = "redis" if settings.REDIS_URL else "local"
    assert status == {
        "backend": expected,
        "healthy": True,
        "failures": 0,
        "last_failure": None,
        "last_error": "",
    }


def test_without_redis_the_process_cache_counts(settings, clock):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "rl"}
    }
    assert [hit("a", limit=2, period=60).count for _ in range(3)] == [1, 2, 3]
    clock.advance(60)
    assert hit("a", limit=2, period=60).count == 1
    assert limiter_status()["backend"] == "local"


def test_in_redis_the_counter_expires_with_its_window(redis_only, clock):
    hit("a", limit=5, period=60)
    cache = caches["default"]
    key = cache.make_key(f"ratelimit:a:60:{int(clock.now // 60)}")
    client = cache._cache.get_client(key, write=True)
    assert int(client.get(key)) == 1
    assert 0 < client.ttl(key) <= 60


class TestFailOpen:
    @pytest.fixture
    def dead_redis(self, settings, limits):
        """Point the cache at a dead port; returns the working CACHES setting."""
        working = settings.CACHES
        settings.CACHES = DEAD_REDIS
        return working

    @pytest.mark.urls("tests.ratelimit.urls")
    def test_requests_are_served_when_redis_is_unreachable(self, dead_redis, clock, caplog):
        client = Client()
        with caplog.at_level(logging.ERROR, logger="apps.ratelimit.limiter"):
            responses = [client.get("/api/ping/") for _ in range(5)]
            responses.append(client.get("/api/auth-ping/"))
            responses.append(client.get("/plain/"))
        assert [r.status_code for r in responses] == [200] * 7
        assert all("RateLimit-Limit" not in r for r in responses)
        reports = [r for r in caplog.records if r.name == "apps.ratelimit.limiter"]
        assert len(reports) == 1
        assert "ConnectionError" in reports[0].getMessage()
        status = limiter_status()
        assert status["backend"] == "redis"
        assert status["healthy"] is False
        assert status["failures"] == 7
        assert status["last_failure"] == clock.now
        assert "ConnectionError" in status["last_error"]

    @pytest.mark.urls("tests.ratelimit.urls")
    def test_the_failure_is_logged_again_after_a_minute(self, dead_redis, clock, caplog):
        client = Client()
        with caplog.at_level(logging.ERROR, logger="apps.ratelimit.limiter"):
            client.get("/api/ping/")
            clock.advance(30)
            client.get("/api/ping/")
            clock.advance(30)
            client.get("/api/ping/")
            client.get("/api/ping/")
        reports = [r.getMessage() for r in caplog.records if r.name == "apps.ratelimit.limiter"]
        assert len(reports) == 2
        assert "(1 failure(s) since the last report; 1 in all)" in reports[0]
        assert "(2 failure(s) since the last report; 3 in all)" in reports[1]
        assert limiter_status()["failures"] == 4

    def test_the_next_successful_count_makes_it_healthy_again(self, dead_redis, settings, clock):
        assert hit("a", limit=5, period=60) is None
        assert limiter_status()["healthy"] is False
        settings.CACHES = dead_redis
        assert hit("a", limit=5, period=60).count == 1
        status = limiter_status()
        assert status["healthy"] is True
        assert status["failures"] == 1  # the count of failures stays for the health check

    def test_a_probe_finds_redis_down_without_waiting_for_a_request(self, dead_redis, clock):
        status = limiter_status(probe=True)
        assert status["healthy"] is False
        assert status["failures"] == 1

    def test_a_probe_of_a_working_store_is_healthy(self, clock):
        assert limiter_status(probe=True)["healthy"] is True


@pytest.mark.urls("tests.ratelimit.urls")
def test_forty_parallel_requests_against_a_limit_of_five_let_exactly_five_through(limits, clock):
    """Threads hitting one budget at once: the increments are atomic.

    With REDIS_URL set this races the Lua INCR in Redis; without it, the
    in-process fallback (cache.add + cache.incr under the cache's lock).
    """
    limits.RATE_LIMIT_MAX = 5
    barrier = threading.Barrier(40)
    codes = []

    def request():
        client = Client()
        barrier.wait()
        codes.append(client.get("/api/ping/").status_code)

    threads = [threading.Thread(target=request) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(codes) == [200] * 5 + [429] * 35
    assert limiter.limiter_status()["failures"] == 0
