"""Request counters shared by every web process: fixed windows in Redis.

Time is cut into windows of `period` seconds aligned on the epoch (a 60-second
window runs from :00 to :59 of every minute). Each bucket has one counter per
window, `ratelimit:<bucket>:<period>:<window number>`, raised by one atomic
INCR; the same script sets the counter's expiry when it creates it, so a
counter never outlives its window even if the process dies between the two.
A fixed window lets a client spend its budget at the end of one window and
again at the start of the next (up to twice the limit within `period` seconds);
in exchange a check is one round trip and the count is exact, which a sliding
estimate is not. Windows follow the web hosts' clocks: keep them synchronised.

The counters live in the Redis of the default cache (Django's RedisCache, when
REDIS_URL is set). Without Redis (the LocMem cache of development and SQLite
test runs) they live in the cache of this one process, counted atomically with
cache.add + cache.incr: correct inside one process, not across several.

If the counter cannot be reached, the request is served (fail open): limiting
is a protection, and its outage must not become the platform's. The failure is
counted, logged at most once per FAILURE_LOG_INTERVAL seconds per process, and
reported by `limiter_status()` for the health check.
"""

import logging
import math
import threading
from time import time
from typing import NamedTuple

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

logger = logging.getLogger(__name__)

CACHE_ALIAS = "default"
FAILURE_LOG_INTERVAL = 60

# Atomic in Redis: no other command runs between the INCR and the EXPIRE.
_INCREMENT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then
    redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return count
"""

# The clock of windows and of failure logging; tests replace it to move through time.
clock = time


class Count(NamedTuple):
    """The outcome of one counted request: (count, limit, reset)."""

    count: int
    limit: int
    reset: int  # whole seconds until the window ends (at least 1)

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def is_allowed(self) -> bool:
        return self.count <= self.limit


class _Health:
    """What this process saw of the counter's store: failures, and when."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        self.failures = 0
        self.last_failure = None
        self.last_error = ""
        self.is_healthy = True  # the latest use succeeded (or there was none)
        self._last_logged = None
        self._unlogged = 0

    def succeeded(self):
        self.is_healthy = True

    def failed(self, error: Exception, now: float) -> int | None:
        """Record a failure; the number of failures to log now, or None (logged recently)."""
        with self._lock:
            self.failures += 1
            self.is_healthy = False
            self._unlogged += 1
            self.last_failure = now
            self.last_error = f"{type(error).__name__}: {error}"
            if self._last_logged is not None and now - self._last_logged < FAILURE_LOG_INTERVAL:
                return None
            self._last_logged = now
            unlogged, self._unlogged = self._unlogged, 0
            return unlogged


_health = _Health()


def _cache():
    return caches[CACHE_ALIAS]


def _uses_redis(cache) -> bool:
    return isinstance(cache, RedisCache)


_scripts: dict[int, object] = {}


def _increment_in_redis(cache, key: str, period: int) -> int:
    redis_key = cache.make_key(key)
    client = cache._cache.get_client(redis_key, write=True)
    # One registered script per client: registering hashes the script text each time.
    script = _scripts.get(id(client))
    if script is None:
        script = _scripts[id(client)] = client.register_script(_INCREMENT_SCRIPT)
    return int(script(keys=[redis_key], args=[period]))


def _increment_in_process(cache, key: str, period: int) -> int:
    # add() creates the counter only if missing and incr() holds the cache's lock,
    # so concurrent threads never lose a count. The second try covers a counter
    # that expired between the two calls.
    for _attempt in range(2):
        cache.add(key, 0, timeout=period)
        try:
            return cache.incr(key)
        except ValueError:
            continue
    raise RuntimeError(f"the rate-limit counter {key!r} vanished twice while being raised")


def hit(bucket: str, *, limit: int, period: int) -> Count | None:
    """Count one request against `bucket`'s budget of `limit` per `period` seconds.

    Returns the count in the current window (this request included), the limit
    and the seconds until the window resets; None if the counter could not be
    reached, in which case the request must be served (see the module docstring).
    """
    now = clock()
    window = int(now // period)
    reset = max(1, math.ceil((window + 1) * period - now))
    key = f"ratelimit:{bucket}:{period}:{window}"
    cache = _cache()
    try:
        if _uses_redis(cache):
            count = _increment_in_redis(cache, key, period)
        else:
            count = _increment_in_process(cache, key, period)
    except Exception as error:  # any failure of the store means: fail open
        _record_failure(error, now)
        return None
    _health.succeeded()
    return Count(count=count, limit=limit, reset=reset)


def _record_failure(error: Exception, now: float):
    to_log = _health.failed(error, now)
    if to_log is not None:
        logger.error(
            "Rate limiter store unavailable, requests are served without limits "
            "(%d failure(s) since the last report; %d in all): %s: %s",
            to_log,
            _health.failures,
            type(error).__name__,
            error,
        )


def limiter_status(*, probe: bool = False) -> dict:
    """The limiter's state in this process, for the health check.

    `backend` is "redis" (shared by every process) or "local" (this process's
    cache); `healthy` is false from a failure until the next successful use.
    With `probe`, the store is pinged first, so the answer is current.
    """
    cache = _cache()
    backend = "redis" if _uses_redis(cache) else "local"
    if probe:
        now = clock()
        try:
            if backend == "redis":
                cache._cache.get_client(None, write=True).ping()
        except Exception as error:  # reported, not raised
            _record_failure(error, now)
        else:
            _health.succeeded()
    return {
        "backend": backend,
        "healthy": _health.is_healthy,
        "failures": _health.failures,
        "last_failure": _health.last_failure,
        "last_error": _health.last_error,
    }


def reset_limiter_status():
    """Forget the failures seen so far (tests; an operator after an incident)."""
    _health.reset()
