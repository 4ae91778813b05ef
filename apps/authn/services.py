"""Signing in with a password, JWT pairs and their rotation, logout, password change and reset.

Every password check goes through `password_login` or `password_change`, and so through
the lockout (`apps.authn.lockout`): the token endpoint, the browsable API's and the
admin's login forms, and the old password of a password change.
"""

import logging
import math
from typing import NoReturn

from django.conf import settings
from django.contrib.auth import (
    authenticate,
    get_user_model,
    password_validation,
    update_session_auth_hash,
)
from django.contrib.auth import logout as end_session
from django.contrib.auth.models import update_last_login
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.utils import get_md5_hash_password

from apps.accounts.models import normalize_email_address
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


class InvalidResetLink(Exception):
    """The uid or token of a password-reset link is wrong, used or expired: one answer for all."""


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


def password_set_by_staff(*, user, staff, request) -> int:
    """Follow up a password that staff set (or disabled) for `user`; return tokens revoked.

    As for the user's own change, every refresh token is revoked (sessions and
    access tokens already end with the old password hash). `password_changed` is
    sent, naming the staff user, inside the caller's transaction: its audit
    entries commit with the new password or not at all.
    """
    revoked = refresh_tokens_revoke_all(user=user)
    logger.info("Password set by staff: user=%s staff=%s revoked=%s", user.pk, staff.pk, revoked)
    signals.password_changed.send(
        sender=type(user), user=user, request=request, revoked=revoked, changed_by=staff
    )
    return revoked


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


# --- Password reset -----------------------------------------------------------------------


def _reset_candidate(email: str):
    """The user a reset of `email` may go to: active, with a password they could forget.

    Like Django's own reset form, an account whose password was disabled (unusable) is
    left out: a reset must not give a password to an account meant to have none.
    """
    user = get_user_model().objects.filter(email=email, is_active=True).first()
    if user is None or not user.has_usable_password():
        return None
    return user


def _duration_in_words(seconds: int) -> str:
    """`seconds` as "3 days", "12 hours" or "90 minutes": the largest unit that divides it."""
    if seconds >= 86400 and seconds % 86400 == 0:
        count, unit = seconds // 86400, "day"
    elif seconds >= 3600 and seconds % 3600 == 0:
        count, unit = seconds // 3600, "hour"
    else:
        count, unit = max(1, math.ceil(seconds / 60)), "minute"
    return f"{count} {unit}{'' if count == 1 else 's'}"


def _password_reset_email(*, user, email: str) -> EmailMultiAlternatives:
    """The reset email for `user`, with a fresh link (not sent)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    context = {
        "user": user,
        "email": email,
        "uid": uid,
        "token": token,
        # str.replace, not str.format: a URL may hold other braces of its own.
        "reset_url": settings.PASSWORD_RESET_URL.replace("{uid}", uid).replace("{token}", token),
        "valid_for": _duration_in_words(settings.PASSWORD_RESET_TIMEOUT),
    }
    subject = "".join(render_to_string("email/password_reset_subject.txt", context).splitlines())
    body = render_to_string("email/password_reset.txt", context)
    return EmailMultiAlternatives(subject, body, settings.DEFAULT_FROM_EMAIL, [email])


def password_reset_request(*, email: str, request) -> None:
    """Email a password-reset link to the account with this address, if it may have one.

    The caller learns nothing: there is no return value and no error whether or not the
    account exists, is active or the email could be sent (a failure is logged). The
    link and its email are built for an unknown address too, and then dropped, so the
    request takes about as long either way. `password_reset_requested` is always sent.
    """
    email = normalize_email_address(email)
    user = _reset_candidate(email)
    # A stand-in that is never saved: its link matches no account.
    message = _password_reset_email(user=user or get_user_model()(email=email), email=email)
    ip = _ip_of(request)
    if user is not None:
        try:
            message.send()
        except Exception:
            # An error page would tell the caller that the account exists.
            logger.exception("Password-reset email to user=%s could not be sent", user.pk)
    logger.info(
        "Password reset requested: user=%s ip=%s", user.pk if user is not None else None, ip
    )
    signals.password_reset_requested.send(
        sender=get_user_model(), user=user, email=email, ip=ip, request=request
    )


def _user_of_reset_link(*, uid: str, token: str):
    """The user a reset link's `uid` and `token` are good for; raise `InvalidResetLink`."""
    user_model = get_user_model()
    try:
        pk = user_model._meta.pk.to_python(urlsafe_base64_decode(uid).decode())
        user = user_model._default_manager.filter(pk=pk, is_active=True).first()
    except (TypeError, ValueError, OverflowError, ValidationError):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise InvalidResetLink
    return user


def password_reset_confirm(*, uid: str, token: str, new_password: str, request) -> int:
    """Set a new password with a reset link; return how many refresh tokens were revoked.

    Raises `InvalidResetLink` for a wrong, used or expired link (the token is made from
    the password hash, so it stops working once the password is set), and
    `ValidationError` on `new_password` when the password validators refuse it.
    Every refresh token of the user is revoked, and through the password hash they
    carry, every access token; sessions end the same way.
    """
    user = _user_of_reset_link(uid=uid, token=token)
    try:
        password_validation.validate_password(new_password, user)
    except ValidationError as exc:
        raise ValidationError({"new_password": list(exc.messages)}) from None
    with transaction.atomic():
        # Locked and checked again, so two uses of one link at once cannot both succeed.
        user = get_user_model()._default_manager.select_for_update().get(pk=user.pk)
        if not user.is_active or not default_token_generator.check_token(user, token):
            raise InvalidResetLink
        user.set_password(new_password)
        user.save(update_fields=["password", "updated_at"])
        revoked = refresh_tokens_revoke_all(user=user)
    lockout.clear_account(user.email)
    logger.info("Password reset: user=%s revoked=%s", user.pk, revoked)
    signals.password_reset.send(sender=type(user), user=user, request=request, revoked=revoked)
    return revoked
