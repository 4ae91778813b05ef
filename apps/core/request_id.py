"""The id that ties a request's response, logs and errors together."""

import re
import uuid
from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

_current_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def resolve_request_id(candidate: str | None) -> str:
    """Keep the caller's id when it is a sane token, otherwise make a new one."""
    if candidate and _SANE_REQUEST_ID.fullmatch(candidate):
        return candidate
    return uuid.uuid4().hex


def get_request_id() -> str | None:
    """The id of the request being handled in this context, if any."""
    return _current_request_id.get()


def set_request_id(request_id: str | None):
    """Bind an id to the current context; returns a token for `reset_request_id`."""
    return _current_request_id.set(request_id)


def reset_request_id(token) -> None:
    _current_request_id.reset(token)
