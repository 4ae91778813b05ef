"""Signing in with a password, JWT pairs and their rotation, logout and password change.

Every password check goes through `password_login` or `password_change`, and so through
the lockout (`apps.authn.lockout`): the token endpoint, the browsable API's and the
admin's login forms, and the old password of a password change.
"""

import logging
from typing import NoReturn

from django.contrib.auth import authenticate, get_user_model, update_session_auth_hash
from django.contrib.auth import logout as end_session
from django.contrib.auth.models import update_last_login
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from apps.ratelimit.client_ip import client_ip

from . import lockout, signals
from .models import RotatedRefreshToken
from .tokens import BlacklistedTokenError, RefreshToken, token_pair_for

logger = logging.getLogger("apps.authn")


class InvalidCredentials(Exception):
    """The email or password is wrong (or the account cannot sign in): one answer for all."""


class RefreshTokenRefused(Exception):
    """The refresh token cannot be exchanged; `message` says why, in the client's terms."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _ip_of(request) -> str:
    return client_ip(request) if request is not None else ""


def password_login(*, request, email: str, password: str, channel: str):
    """The active user with this email and password, checked under the lockout.

    Raises `lockout.LockedOut` without checking the password while the account or the
    client IP is locked out, and `InvalidCredentials` for a wrong email or password.
    """
    attempt = lockout.begin(email=email, ip=_ip_of(request), channel=channel, request=request)
    try:
        user = authenticate(request, email=email, password=password)
    except Exception:
        lockout.release(attempt)
        raise
    if user is None:
        lockout.fail(attempt)
        raise InvalidCredentials
    lockout.succeed(attempt, user=user)
    return user


def token_obtain(*, request, email: str, password: str) -> dict[str, str]:
    """Sign in with a password and receive a JWT access and refresh token."""
    user = password_login(request=request, email=email, password=password, channel="token")
    if api_settings.UPDATE_LAST_LOGIN:
        update_last_login(None, user)
    return token_pair_for(user)


def _user_of(payload: dict):
    user_model = get_user_model()
    try:
        return user_model.objects.filter(
            **{api_settings.USER_ID_FIELD: payload.get(api_settings.USER_ID_CLAIM)}
        ).first()
    except (ValueError, ValidationError):
        return None


def token_refresh(*, raw_token: str, request=None) -> dict[str, str]:
    """Exchange a refresh token for a new pair; the presented token is used up.

    A refresh token that was already exchanged and is presented again was copied: every
    outstanding refresh token of its user is revoked, `refresh_token_reused` is sent,
    and the exchange is refused.
    """
    try:
        token = RefreshToken(raw_token)
    except BlacklistedTokenError as exc:
        _refuse_blacklisted(jti=exc.payload.get(api_settings.JTI_CLAIM), request=request)
    except ExpiredTokenError:
        raise RefreshTokenRefused("The refresh token has expired; sign in again.") from None
    except TokenError:
        raise RefreshTokenRefused("The refresh token is not valid.") from None

    jti = token[api_settings.JTI_CLAIM]
    with transaction.atomic():
        # Locked, so two exchanges of one token cannot both succeed. (The model's default
        # ordering joins the user table, which FOR UPDATE refuses: order by the key alone.)
        outstanding = (
            OutstandingToken.objects.select_for_update().filter(jti=jti).order_by("pk").first()
        )
        if outstanding is None:
            raise RefreshTokenRefused("The refresh token is not valid.")
        already_used = BlacklistedToken.objects.filter(token=outstanding).exists()
        if not already_used:
            user = _user_of(token.payload)
            if user is None or not user.is_active:
                raise RefreshTokenRefused("The refresh token is no longer valid; sign in again.")
            if api_settings.CHECK_REVOKE_TOKEN and token.get(
                api_settings.REVOKE_TOKEN_CLAIM
            ) != get_md5_hash_password(user.password):
                raise RefreshTokenRefused("The password was changed; sign in again.")
            BlacklistedToken.objects.create(token=outstanding)
            RotatedRefreshToken.objects.create(token=outstanding)
            return token_pair_for(user)
    _refuse_blacklisted(jti=jti, request=request)


def _refuse_blacklisted(*, jti: str, request) -> NoReturn:
    """Refuse a revoked refresh token; if it had been rotated, treat it as stolen."""
    rotated = (
        RotatedRefreshToken.objects.filter(token__jti=jti).select_related("token__user").first()
    )
    if rotated is None or rotated.token.user is None:
        raise RefreshTokenRefused("The refresh token has been revoked; sign in again.")
    user = rotated.token.user
    revoked = refresh_tokens_revoke_all(user=user)
    ip = _ip_of(request)
    logger.warning(
        "Refresh token reused: user=%s jti=%s ip=%s; revoked %s refresh tokens",
        user.pk,
        jti,
        ip,
        revoked,
    )
    signals.refresh_token_reused.send(
        sender=type(user), user=user, jti=jti, ip=ip, request=request, revoked=revoked
    )
    raise RefreshTokenRefused(
        "This refresh token was already used. As a precaution every session of this account "
        "that uses refresh tokens has been signed out; sign in again."
    )


def refresh_tokens_revoke_all(*, user) -> int:
    """Blacklist every unexpired refresh token of `user`; return how many were revoked."""
    outstanding = list(
        OutstandingToken.objects.filter(
            user=user, expires_at__gt=timezone.now(), blacklistedtoken__isnull=True
        ).values_list("pk", flat=True)
    )
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token_id=pk) for pk in outstanding], ignore_conflicts=True
    )
    return len(outstanding)


def user_logout(*, user, request, ends_session: bool) -> int:
    """Sign `user` out: revoke all their refresh tokens, and end the session if there is one.

    Access tokens already issued stay valid until they expire (JWT_EXPIRATION seconds).
    """
    with transaction.atomic():
        revoked = refresh_tokens_revoke_all(user=user)
    if ends_session:
        end_session(request)
    logger.info("Signed out: user=%s revoked=%s", user.pk, revoked)
    signals.logout.send(sender=type(user), user=user, request=request, revoked=revoked)
    return revoked


def password_change(
    *,
    user,
    old_password: str,
    new_password: str,
    request,
    keeps_session: bool,
    issues_tokens: bool,
) -> dict[str, str] | None:
    """Change `user`'s password after checking the old one (under the lockout).

    Every refresh token of the user is revoked, and so, through the password hash they
    carry, is every access token. The caller stays signed in: a session is kept valid,
    and a caller using tokens receives a new pair (returned) when `issues_tokens`.
    The new password must already have passed the password validators.
    """
    attempt = lockout.begin(
        email=user.email, ip=_ip_of(request), channel="password_change", request=request
    )
    if not user.check_password(old_password):
        lockout.fail(attempt)
        raise InvalidCredentials
    lockout.release(attempt)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        revoked = refresh_tokens_revoke_all(user=user)
    if keeps_session:
        update_session_auth_hash(request, user)
    logger.info("Password changed: user=%s revoked=%s", user.pk, revoked)
    signals.password_changed.send(sender=type(user), user=user, request=request, revoked=revoked)
    return token_pair_for(user) if issues_tokens else None
