"""JWT bearer authentication for the API.

`Authorization: Bearer <access token>`. A request without a Bearer header is left to the
other authentication classes; a request with one is either authenticated by it or
refused with 401 and the error envelope, whatever else it carries (a valid session
cookie included). The refusal says what a client needs to know (the token expired, or
is not valid) and nothing about why the library rejected it.

The token identifies the user only. Organization roles it may carry are hints for the
client: every request loads the user and re-reads their membership in the policy.
"""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from rest_framework import HTTP_HEADER_ENCODING, exceptions
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from .tokens import AccessToken

INVALID_TOKEN_CODE = "token_not_valid"


def invalid_token(message: str) -> exceptions.AuthenticationFailed:
    return exceptions.AuthenticationFailed(message, code=INVALID_TOKEN_CODE)


class JWTAuthentication(authentication.JWTAuthentication):
    """Authenticate `Authorization: Bearer <access token>`; any bad token is a 401."""

    keyword = b"bearer"
    www_authenticate_realm = "api"

    def authenticate_header(self, request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'

    def authenticate(self, request):
        header = self.get_header(request)
        if header is None:
            return None
        raw_token = self.get_raw_token(header)
        if raw_token is None:
            return None
        token = self.get_validated_token(raw_token)
        return self.get_user(token), token

    def get_header(self, request) -> bytes | None:
        header = request.META.get(api_settings.AUTH_HEADER_NAME)
        if isinstance(header, str):
            try:
                header = header.encode(HTTP_HEADER_ENCODING)
            except UnicodeEncodeError:
                # Not a header a client could have sent; only a Bearer one would concern us.
                if header.lstrip().lower().startswith("bearer"):
                    raise invalid_token("The access token is not valid.") from None
                return None
        return header

    def get_raw_token(self, header: bytes) -> bytes | None:
        parts = header.split()
        # The scheme is case-insensitive (RFC 9110): "bearer" is a Bearer token too.
        if not parts or parts[0].lower() != self.keyword:
            return None
        if len(parts) != 2:
            raise invalid_token("The Authorization header must be 'Bearer <access token>'.")
        return parts[1]

    def get_validated_token(self, raw_token: bytes) -> AccessToken:
        try:
            return AccessToken(raw_token)
        except ExpiredTokenError:
            raise invalid_token(
                "The access token has expired; refresh it or sign in again."
            ) from None
        except TokenError:
            raise invalid_token("The access token is not valid.") from None

    def get_user(self, validated_token: AccessToken):
        user_id = validated_token.get(api_settings.USER_ID_CLAIM)
        user_model = get_user_model()
        try:
            user = user_model.objects.filter(**{api_settings.USER_ID_FIELD: user_id}).first()
        except (ValueError, ValidationError):
            user = None
        if user is None or not user.is_active:
            raise invalid_token("The access token is no longer valid; sign in again.")
        if api_settings.CHECK_REVOKE_TOKEN and validated_token.get(
            api_settings.REVOKE_TOKEN_CLAIM
        ) != get_md5_hash_password(user.password):
            raise invalid_token("The password was changed since this token was issued.")
        return user
