"""Who is counted, against which budget: the rules shared by the DRF throttle and the decorator.

A request is counted once, in the bucket of its scope and its caller:

- the caller is the API key (`request.auth` with `is_api_key`), else the
  signed-in user, else the client IP (`client_ip`, which believes
  X-Forwarded-For only from TRUSTED_PROXIES). Anonymous callers, such as those
  of the login and token endpoints, are therefore counted per IP;
- the scope is "default" (RATE_LIMIT_MAX per RATE_LIMIT_TTL seconds, or the
  key's own positive `rate_limit` per RATE_LIMIT_TTL) or "auth" (the stricter
  RATE_LIMIT_AUTH_MAX per RATE_LIMIT_AUTH_TTL, for endpoints that check a
  password or mint credentials; a key's own limit does not loosen it).

Scopes have separate budgets: spending the "auth" budget leaves the "default"
one untouched.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from apps.access.policy import api_key_of

from .client_ip import client_ip
from .limiter import Count, hit

DEFAULT_SCOPE = "default"
AUTH_SCOPE = "auth"

# scope -> (setting of the limit, setting of the window in seconds); read at call time.
SCOPES = {
    DEFAULT_SCOPE: ("RATE_LIMIT_MAX", "RATE_LIMIT_TTL"),
    AUTH_SCOPE: ("RATE_LIMIT_AUTH_MAX", "RATE_LIMIT_AUTH_TTL"),
}

# The request attribute where the latest count waits for RateLimitHeadersMiddleware.
REQUEST_ATTRIBUTE = "rate_limit_count"


def check_scope(scope: str) -> str:
    """`scope` if it names a scope; ImproperlyConfigured otherwise."""
    if scope not in SCOPES:
        raise ImproperlyConfigured(
            f"Unknown rate-limit scope {scope!r}; the scopes are {', '.join(sorted(SCOPES))}."
        )
    return scope


def limit_of(scope: str, api_key=None) -> tuple[int, int]:
    """(limit, window in seconds) of `scope`, for a caller using `api_key` if any."""
    limit_setting, period_setting = SCOPES[check_scope(scope)]
    limit = getattr(settings, limit_setting)
    period = getattr(settings, period_setting)
    own_limit = getattr(api_key, "rate_limit", None)
    if scope == DEFAULT_SCOPE and isinstance(own_limit, int) and own_limit > 0:
        limit = own_limit
    return limit, period


def caller_of(request) -> str:
    """The bucket name of the caller: "key:…", "user:…" or "ip:…"."""
    api_key = api_key_of(request)
    if api_key is not None:
        return f"key:{api_key.pk}"
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{client_ip(request)}"


def count_request(request, scope: str = DEFAULT_SCOPE) -> Count | None:
    """Count `request` in its caller's budget for `scope` and leave the count on the request.

    None when the limiter's store is unavailable: then the request is served and
    carries no RateLimit headers.
    """
    limit, period = limit_of(scope, api_key_of(request))
    # Login, token, password and key-creation endpoints count per client IP, whatever
    # credential comes along: otherwise each key or account would be a fresh budget.
    caller = f"ip:{client_ip(request)}" if scope == AUTH_SCOPE else caller_of(request)
    result = hit(f"{scope}:{caller}", limit=limit, period=period)
    if result is not None:
        django_request = getattr(request, "_request", request)  # DRF wraps Django's request
        earlier = getattr(django_request, REQUEST_ATTRIBUTE, None)
        if earlier is None or result.remaining <= earlier.remaining:
            setattr(django_request, REQUEST_ATTRIBUTE, result)
    return result
