"""The one JSON shape of every API error.

{"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}
"""

from django.http import JsonResponse

from .request_id import get_request_id


def error_body(*, code: str, message: str, details: dict | None = None) -> dict:
    return {
        "error": {
            "code": code,
            "message": message,
            "details": details or {},
            "request_id": get_request_id(),
        }
    }


def error_json_response(
    *, status: int, code: str, message: str, details: dict | None = None
) -> JsonResponse:
    """An error envelope as a plain Django response, for errors raised outside DRF."""
    return JsonResponse(error_body(code=code, message=message, details=details), status=status)


def is_api_request(request) -> bool:
    return request.path.startswith("/api/")
