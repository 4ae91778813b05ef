import logging

from .request_id import get_request_id


class RequestIdFilter(logging.Filter):
    """Add the current request id (or "-") to every log record."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs after the request's context has ended, but passes the request.
        request = getattr(record, "request", None)
        record.request_id = get_request_id() or getattr(request, "request_id", None) or "-"
        return True
