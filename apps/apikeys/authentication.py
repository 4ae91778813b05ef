"""DRF authentication with an API key: `Authorization: Api-Key <key>` or `X-API-Key: <key>`.

A request with a key acts as the key's creator (`request.user`) with the key as
`request.auth`; apps.access.policy then bounds it by the key's scopes and
organization. A presented key that cannot be used answers 401, whatever other
credentials the request carries (this class runs first), and the refusal is
logged and sent as the `api_key_rejected` signal.
"""

import logging

from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header

from apps.ratelimit.client_ip import client_ip

from .models import ApiKey
from .services import api_key_record_use
from .signals import api_key_rejected
from .verification import MESSAGES, KeyRejected, Reason, check_key

logger = logging.getLogger(__name__)

KEYWORD = "Api-Key"
HEADER = "HTTP_X_API_KEY"


class ApiKeyAuthentication(BaseAuthentication):
    """Authenticate a request by the API key it presents; None when it presents none."""

    keyword = KEYWORD

    def presented_key(self, request) -> str | None:
        """The key in the request's headers, "" for a malformed header, None for no key."""
        header = get_authorization_header(request).split()
        alternative = request.META.get(HEADER)
        if header and header[0].lower() == self.keyword.lower().encode():
            if len(header) != 2:
                return ""
            try:
                presented = header[1].decode("ascii")
            except UnicodeDecodeError:
                return ""
            # Two keys that disagree are a bad credential, not a choice of the better one.
            if alternative is not None and alternative.strip() != presented:
                return ""
            return presented
        if alternative is None:
            return None
        return alternative.strip()

    def authenticate(self, request):
        raw_key = self.presented_key(request)
        if raw_key is None:
            return None
        ip = client_ip(request)
        try:
            key = check_key(raw_key, ip=ip) if raw_key else None
            if key is None:
                raise KeyRejected(Reason.MALFORMED)
        except KeyRejected as rejection:
            self.record_rejection(rejection, ip=ip)
            raise exceptions.AuthenticationFailed(MESSAGES[rejection.reason]) from None
        api_key_record_use(key=key, ip=ip)
        return key.created_by, key

    def record_rejection(self, rejection: KeyRejected, *, ip: str) -> None:
        key = rejection.key
        logger.warning(
            "API key refused: %s (key %s, prefix %r) from %s",
            rejection.reason,
            getattr(key, "pk", None),
            rejection.prefix,
            ip,
        )
        # Robust: a failing listener must not turn the client's 401 into a 500.
        responses = api_key_rejected.send_robust(
            sender=ApiKey, key=key, reason=str(rejection.reason), ip=ip, prefix=rejection.prefix
        )
        for receiver, response in responses:
            if isinstance(response, Exception):
                logger.error("api_key_rejected receiver %r failed", receiver, exc_info=response)

    def authenticate_header(self, request):
        return self.keyword
