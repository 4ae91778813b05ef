"""RateLimit-* headers on every response whose request was counted."""

from .scopes import REQUEST_ATTRIBUTE


class RateLimitHeadersMiddleware:
    """Add `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` (seconds).

    The throttle or the `rate_limited` decorator leaves the count on the request;
    requests that were never counted (pages outside the API, requests refused
    before throttling, or served while the limiter's store was down) get no headers.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        count = getattr(request, REQUEST_ATTRIBUTE, None)
        if count is not None:
            response["RateLimit-Limit"] = str(count.limit)
            response["RateLimit-Remaining"] = str(count.remaining)
            response["RateLimit-Reset"] = str(count.reset)
        return response
