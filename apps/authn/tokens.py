"""JWT access and refresh tokens, with lifetimes read from the settings when a token is made.

simplejwt fixes its lifetimes when it is imported (`AccessToken.lifetime` is a class
attribute taken from SIMPLE_JWT); these subclasses read `JWT_EXPIRATION` and
`REFRESH_TOKEN_EXPIRATION` each time instead, so the settings hold wherever they are
changed. A blacklisted refresh token raises its own error, carrying the token's claims,
so the refresh endpoint can tell a reused token from a bad one.
"""

from datetime import timedelta

from django.conf import settings
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

# The organization-role hints in an access token stop at this many organizations, so the
# header stays small; the server never relies on them.
MAX_ORGANIZATION_HINTS = 50


class BlacklistedTokenError(TokenError):
    """A correctly signed refresh token that was revoked or already exchanged."""

    def __init__(self, message, payload: dict):
        super().__init__(message)
        self.payload = payload


class AccessToken(tokens.AccessToken):
    """A short-lived token presented as `Authorization: Bearer <token>`."""

    @property
    def lifetime(self) -> timedelta:
        return timedelta(seconds=settings.JWT_EXPIRATION)


class RefreshToken(tokens.RefreshToken):
    """A longer-lived token exchanged once for a new pair (rotation)."""

    access_token_class = AccessToken

    @property
    def lifetime(self) -> timedelta:
        return timedelta(seconds=settings.REFRESH_TOKEN_EXPIRATION)

    def check_blacklist(self) -> None:
        jti = self.payload[api_settings.JTI_CLAIM]
        if BlacklistedToken.objects.filter(token__jti=jti).exists():
            raise BlacklistedTokenError("Token is blacklisted", self.payload)


def organization_role_hints(user) -> dict[str, str]:
    """The user's organizations and roles, `{slug: role key}`: hints for a client's UI only."""
    from apps.organizations.models import Membership

    rows = (
        Membership.objects.filter(user=user)
        .order_by("organization__slug")
        .values_list("organization__slug", "role__key")[:MAX_ORGANIZATION_HINTS]
    )
    return dict(rows)


def token_pair_for(user) -> dict[str, str]:
    """A new refresh token (recorded as outstanding) and its access token, encoded."""
    refresh = RefreshToken.for_user(user)
    access = refresh.access_token
    access["orgs"] = organization_role_hints(user)
    return {"access": str(access), "refresh": str(refresh)}
