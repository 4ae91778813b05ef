"""Rate limiting for views outside DRF (the session login form, for one)."""

from functools import wraps

from django.http import HttpResponse
from rest_framework.exceptions import Throttled

from apps.core.errors import error_json_response, is_api_request

from .scopes import check_scope, count_request


def rate_limited(scope: str = "auth", *, methods: tuple[str, ...] | None = None):
    """Count a plain Django view's requests like the API's throttle does.

    The caller is the signed-in (session) user, else the client IP; the budget
    is the scope's (see scopes.py). Over the limit the answer is 429 with
    `Retry-After`: the error envelope under /api/, a plain-text page elsewhere.
    Only `methods` are counted when given (e.g. ("POST",) for a form, so showing
    it is free). For class-based views use `method_decorator(..., name="dispatch")`;
    DRF views set `rate_limit_scope` instead, so the throttle sees the DRF user.
    """
    check_scope(scope)
    counted_methods = None if methods is None else {method.upper() for method in methods}

    def decorator(view):
        @wraps(view)
        def limited_view(request, *args, **kwargs):
            if counted_methods is None or request.method in counted_methods:
                count = count_request(request, scope)
                if count is not None and not count.is_allowed:
                    return too_many_requests(request, count.reset)
            return view(request, *args, **kwargs)

        return limited_view

    return decorator


def too_many_requests(request, retry_after: int) -> HttpResponse:
    """The 429 of a plain Django view, worded like the API's."""
    message = str(Throttled(wait=retry_after).detail)
    if is_api_request(request):
        response = error_json_response(
            status=429, code="throttled", message=message, details={"retry_after": retry_after}
        )
    else:
        response = HttpResponse(
            f"Too many requests. {message}\n", status=429, content_type="text/plain; charset=utf-8"
        )
    response["Retry-After"] = str(retry_after)
    return response
