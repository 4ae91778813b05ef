"""The API's throttle: every DRF view counts its requests in Redis (see scopes.py)."""

from rest_framework.throttling import BaseThrottle

from .scopes import DEFAULT_SCOPE, count_request


class PlatformRateThrottle(BaseThrottle):
    """Allow a request while its caller is within the budget of the view's scope.

    A view chooses its scope with `rate_limit_scope` ("default" unless it says
    "auth"). Over the limit DRF raises `Throttled`: 429 with the error envelope
    and `Retry-After`. The count is left on the request for the RateLimit-*
    headers. If the limiter's store is down, requests are allowed (fail open).
    """

    def __init__(self):
        self.count = None

    def allow_request(self, request, view):
        scope = getattr(view, "rate_limit_scope", DEFAULT_SCOPE)
        self.count = count_request(request, scope)
        return self.count is None or self.count.is_allowed

    def wait(self):
        return None if self.count is None else self.count.reset
