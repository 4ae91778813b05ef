"""Lock out an account or a client IP after repeated failed sign-ins, for a growing period.

Two subjects are counted for every password check: the account (the normalized email,
whether or not such a user exists, so the answer tells nothing about which addresses are
registered) and the client IP (`apps.ratelimit.client_ip`). When either reaches
`LOGIN_LOCKOUT_THRESHOLD` failures within `FAILURE_WINDOW_SECONDS`, it is locked for
`LOGIN_LOCKOUT_SECONDS`; each further lockout of the same subject doubles the period (up
to `MAX_LOCKOUT_SECONDS`) until a day passes without one, or, for an account, until it
signs in successfully. While a subject is locked, attempts are refused before the
password is hashed, so a locked-out attacker costs the server next to nothing.

The counters live in the default cache: Redis in production, so every web process shares
them and increments are atomic. An attempt is counted before its password is checked,
so a burst of parallel guesses gets at most THRESHOLD password checks, not one per
request. If the cache is unreachable, sign-ins are served without the lockout (fail
open, like the rate limiter) and the failure is logged at most once a minute.
"""

import hashlib
import logging
import math
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache

from apps.accounts.models import normalize_email_address

from . import signals

logger = logging.getLogger("apps.authn.lockout")

# Failures of one subject are counted over this window, from the first one.
FAILURE_WINDOW_SECONDS = 3600
# No lockout lasts longer than a day, however often it recurs.
MAX_LOCKOUT_SECONDS = 24 * 3600
# A subject that goes this long without being locked starts again from the first period.
LEVEL_MEMORY_SECONDS = 24 * 3600

ACCOUNT = "account"
IP = "ip"

_KEY_PREFIX = "authn:lockout"
_cache_error_logged_at = 0.0


def now() -> float:
    """The lockout's clock (Unix time); tests replace it to let time pass."""
    return time.time()


class LockedOut(Exception):
    """The account or the client IP is locked out; retry after `retry_after` seconds."""

    def __init__(self, retry_after: int):
        super().__init__(f"locked out for {retry_after} more seconds")
        self.retry_after = retry_after


@dataclass(frozen=True)
class Subject:
    kind: str  # ACCOUNT or IP
    identifier: str

    @property
    def key(self) -> str:
        # Hashed, so any address fits a cache key and none is stored in clear.
        digest = hashlib.sha256(self.identifier.encode()).hexdigest()[:40]
        return f"{_KEY_PREFIX}:{self.kind}:{digest}"


@dataclass
class Attempt:
    """One password check in progress, counted against its subjects until it ends."""

    email: str
    ip: str
    channel: str
    request: object = None
    subjects: list[Subject] = field(default_factory=list)
    counts: dict[Subject, int] = field(default_factory=dict)
    ended: bool = False


def subjects_of(*, email: str, ip: str) -> list[Subject]:
    subjects = [Subject(ACCOUNT, normalize_email_address(email))]
    if ip:
        subjects.append(Subject(IP, ip))
    return subjects


def lockout_seconds(level: int) -> int:
    """How long the `level`-th lockout in a row lasts: the base period, doubled each time."""
    base = max(1, settings.LOGIN_LOCKOUT_SECONDS)
    return min(base * 2 ** min(max(level, 1) - 1, 32), MAX_LOCKOUT_SECONDS)


def retry_after(*, email: str, ip: str) -> int:
    """Seconds until every lockout of this email and IP has ended; 0 when neither is locked."""
    return _longest_lock(subjects_of(email=email, ip=ip))


def begin(*, email: str, ip: str, channel: str, request=None) -> Attempt:
    """Start a password check: raise `LockedOut`, or count the attempt and return it.

    The caller then checks the password and ends the attempt with `fail`, `succeed` or
    `release`.
    """
    email = normalize_email_address(email)
    attempt = Attempt(
        email=email,
        ip=ip,
        channel=channel,
        request=request,
        subjects=subjects_of(email=email, ip=ip),
    )
    _refuse_if_locked(attempt)
    threshold = max(1, settings.LOGIN_LOCKOUT_THRESHOLD)
    for subject in attempt.subjects:
        attempt.counts[subject] = _increment(f"{subject.key}:failures", FAILURE_WINDOW_SECONDS)
    try:
        # Again, now that this attempt is counted: a lockout that began in between (it is
        # set before its counter is cleared) must not let this attempt through.
        _refuse_if_locked(attempt)
    except LockedOut:
        release(attempt)
        raise
    if any(count > threshold for count in attempt.counts.values()):
        # Parallel attempts past the threshold, while the one that reached it is locking.
        release(attempt)
        raise LockedOut(lockout_seconds(1))
    return attempt


def _refuse_if_locked(attempt: Attempt) -> None:
    remaining = _longest_lock(attempt.subjects)
    if remaining:
        logger.info(
            "Sign-in refused while locked out: email=%s ip=%s channel=%s retry_after=%s",
            attempt.email,
            attempt.ip,
            attempt.channel,
            remaining,
        )
        raise LockedOut(remaining)


def fail(attempt: Attempt) -> None:
    """The password (or email) was wrong: record it, and lock each subject that reached the
    threshold."""
    if attempt.ended:
        return
    attempt.ended = True
    user_model = get_user_model()
    logger.warning(
        "Failed sign-in: email=%s ip=%s channel=%s", attempt.email, attempt.ip, attempt.channel
    )
    signals.login_failed.send(
        sender=user_model,
        email=attempt.email,
        ip=attempt.ip,
        channel=attempt.channel,
        request=attempt.request,
    )
    threshold = max(1, settings.LOGIN_LOCKOUT_THRESHOLD)
    for subject, count in attempt.counts.items():
        if count == threshold:
            _lock(subject, attempt)


def succeed(attempt: Attempt, *, user) -> None:
    """The password was right: forget the account's failures and lockout history."""
    if attempt.ended:
        return
    attempt.ended = True
    for subject in attempt.subjects:
        if subject.kind == ACCOUNT:
            _delete(f"{subject.key}:failures", f"{subject.key}:level", f"{subject.key}:until")
        else:
            # Not a reset: one good account must not wash away an IP's failures on others.
            _decrement(f"{subject.key}:failures")
    logger.info("Signed in: user=%s ip=%s channel=%s", user.pk, attempt.ip, attempt.channel)
    signals.login_succeeded.send(
        sender=get_user_model(),
        user=user,
        ip=attempt.ip,
        channel=attempt.channel,
        request=attempt.request,
    )


def clear_account(email: str) -> None:
    """Forget an account's failures and lockout, as a successful sign-in does.

    For a password reset: whoever set the new password controls the account's email,
    and the lockout was protecting the old password.
    """
    subject = Subject(ACCOUNT, normalize_email_address(email))
    _delete(f"{subject.key}:failures", f"{subject.key}:level", f"{subject.key}:until")


def release(attempt: Attempt) -> None:
    """The attempt ended without telling whether the password was right: uncount it."""
    if attempt.ended:
        return
    attempt.ended = True
    for subject in attempt.counts:
        _decrement(f"{subject.key}:failures")


def _lock(subject: Subject, attempt: Attempt) -> None:
    level = _increment(f"{subject.key}:level", LEVEL_MEMORY_SECONDS + MAX_LOCKOUT_SECONDS)
    if level == 0:
        return  # the cache is down: nothing can be locked
    seconds = lockout_seconds(level)
    until = now() + seconds
    _set(f"{subject.key}:until", until, seconds)
    _touch(f"{subject.key}:level", seconds + LEVEL_MEMORY_SECONDS)
    _delete(f"{subject.key}:failures")
    logger.warning(
        "Locked out after repeated failed sign-ins: %s=%s for %s s (lockout %s in a row)",
        subject.kind,
        subject.identifier,
        seconds,
        level,
    )
    signals.login_locked_out.send(
        sender=get_user_model(),
        subject=subject.kind,
        identifier=subject.identifier,
        seconds=seconds,
        level=level,
        until=until,
        channel=attempt.channel,
        request=attempt.request,
    )


def _longest_lock(subjects: list[Subject]) -> int:
    keys = [f"{subject.key}:until" for subject in subjects]
    values = _get_many(keys)
    current = now()
    remaining = [until - current for until in values.values() if until is not None]
    longest = max(remaining, default=0)
    return math.ceil(longest) if longest > 0 else 0


# --- The cache, failing open -------------------------------------------------------------


def _cache_failed(exc: Exception) -> None:
    global _cache_error_logged_at
    current = time.monotonic()
    if current - _cache_error_logged_at >= 60 or _cache_error_logged_at == 0.0:
        _cache_error_logged_at = current
        logger.error("Login lockout disabled: the cache is unreachable (%s)", exc)


def _increment(key: str, timeout: int) -> int:
    """Add one to a counter that expires `timeout` seconds after its creation; 0 on failure."""
    try:
        for _ in range(3):
            cache.add(key, 0, timeout)
            try:
                return cache.incr(key)
            except ValueError:
                continue  # expired between add and incr: create it again
        return 0
    except Exception as exc:  # any cache backend error: fail open
        _cache_failed(exc)
        return 0


def _decrement(key: str) -> None:
    try:
        cache.decr(key)
    except ValueError:
        pass  # already reset or expired
    except Exception as exc:
        _cache_failed(exc)


def _set(key: str, value, timeout: int) -> None:
    try:
        cache.set(key, value, timeout)
    except Exception as exc:
        _cache_failed(exc)


def _touch(key: str, timeout: int) -> None:
    try:
        cache.touch(key, timeout)
    except Exception as exc:
        _cache_failed(exc)


def _delete(*keys: str) -> None:
    try:
        cache.delete_many(keys)
    except Exception as exc:
        _cache_failed(exc)


def _get_many(keys: list[str]) -> dict:
    try:
        return cache.get_many(keys)
    except Exception as exc:
        _cache_failed(exc)
        return {}
