"""Turn every exception raised in an API view into the error envelope."""

import logging

from django.core import exceptions as django_exceptions
from django.core.signals import got_request_exception
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from apps.core.errors import error_body
from apps.core.exceptions import ConflictError

logger = logging.getLogger("apps.api")

_GENERIC_SERVER_ERROR = "The server failed to handle this request. It has been logged."


def _flatten_details(detail) -> dict:
    """Field errors as {"field": ["message", ...]}, nested serializers kept nested."""
    if isinstance(detail, dict):
        return {str(key): _normalise(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return {"non_field_errors": [str(item) for item in detail]}
    return {"non_field_errors": [str(detail)]}


def _normalise(value):
    if isinstance(value, dict):
        return {str(key): _normalise(item) for key, item in value.items()}
    if isinstance(value, list):
        if any(isinstance(item, dict | list) for item in value):
            return [_normalise(item) for item in value]
        return [str(item) for item in value]
    return [str(value)]


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, django_exceptions.PermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, django_exceptions.ValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        return exceptions.ValidationError(detail)
    if isinstance(exc, ConflictError):
        return Conflict(exc.message, code=exc.code)
    if isinstance(exc, django_exceptions.RequestDataTooBig):
        return PayloadTooLarge()
    if isinstance(exc, django_exceptions.SuspiciousOperation):
        return exceptions.ParseError("The request was refused as malformed.")
    return None


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is larger than this endpoint accepts."
    default_code = "payload_too_large"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state of the resource."
    default_code = "conflict"


def api_exception_handler(exc: Exception, context: dict) -> Response:
    """DRF's exception handler for the whole API.

    Unexpected exceptions are logged with their traceback (and reported to
    `got_request_exception` listeners such as error trackers) and answered with
    a generic 500 in the same envelope; the traceback never reaches the client.
    """
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        request = context.get("request")
        django_request = getattr(request, "_request", None)
        logger.error("Unhandled exception in API view", exc_info=exc)
        got_request_exception.send(sender=None, request=django_request)
        set_rollback()
        return Response(
            error_body(code="server_error", message=_GENERIC_SERVER_ERROR),
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )

    if isinstance(api_exc, exceptions.AuthenticationFailed):
        api_exc = _throttled_after_failed_authentication(context) or api_exc
    if isinstance(api_exc, exceptions.PermissionDenied):
        _record_denied_write(context, api_exc)

    headers = {}
    if getattr(api_exc, "auth_header", None):
        headers["WWW-Authenticate"] = api_exc.auth_header
    if getattr(api_exc, "wait", None):
        headers["Retry-After"] = str(int(api_exc.wait))

    if isinstance(api_exc, exceptions.ValidationError):
        code = "validation_error"
        message = "The request has invalid fields."
        details = _flatten_details(api_exc.detail)
    else:
        code = _code_of(api_exc)
        message = str(api_exc.detail) if not isinstance(api_exc.detail, dict | list) else ""
        message = message or str(api_exc.default_detail)
        details = api_exc.detail if isinstance(api_exc.detail, dict) else {}
        if isinstance(api_exc, exceptions.Throttled) and api_exc.wait is not None:
            details = {"retry_after": int(api_exc.wait)}

    set_rollback()
    return Response(
        error_body(code=code, message=message, details=details),
        status=api_exc.status_code,
        headers=headers,
    )


def _record_denied_write(context: dict, exc: exceptions.PermissionDenied) -> None:
    """A member refused a write is a security event (reads refused are not recorded)."""
    from rest_framework.permissions import SAFE_METHODS

    from apps.audit import events

    request, view = context.get("request"), context.get("view")
    if request is None or request.method in SAFE_METHODS:
        return
    # Only what the view already resolved: a refused request must not cost more queries.
    access = getattr(view, "__dict__", {}).get("member_access")
    events.record_event_robustly(
        events.ACCESS_DENIED,
        organization_ids=[access.organization.pk if access is not None else None],
        data={
            "method": request.method,
            "path": request.path[:500],
            "action": getattr(view, "action", None) or "",
            "reason": str(exc.detail)[:500],
        },
    )


def _throttled_after_failed_authentication(context: dict) -> exceptions.Throttled | None:
    """Count a bad credential against its IP; past the auth limit, answer 429 instead of 401.

    Permissions and throttles run after authentication, so without this a flood
    of wrong keys or tokens would never meet a limit.
    """
    from apps.ratelimit.client_ip import client_ip
    from apps.ratelimit.limiter import hit
    from apps.ratelimit.scopes import AUTH_SCOPE, limit_of

    request = context.get("request")
    if request is None:
        return None
    limit, period = limit_of(AUTH_SCOPE)
    count = hit(f"failed-auth:ip:{client_ip(request)}", limit=limit, period=period)
    if count is None or count.is_allowed:
        return None
    return exceptions.Throttled(wait=count.reset)


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return exc.default_code
