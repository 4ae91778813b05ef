from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.access.api.permissions import AUTHENTICATED, PUBLIC, DeclaredAccess
from apps.authn import lockout, services
from apps.authn.authentication import INVALID_TOKEN_CODE
from apps.authn.tokens import AccessToken

from .serializers import (
    DetailSerializer,
    PasswordChangedSerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetRequestSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    TokenRefreshSerializer,
)

# One answer for every wrong email, wrong password or disabled account: no enumeration.
INVALID_CREDENTIALS = "The email address or password is incorrect."
# One answer for every reset request, whether or not the address has an account.
PASSWORD_RESET_REQUESTED = (
    "If an active account uses this email address, a link to reset its password "
    "has been sent to it."
)
INVALID_RESET_LINK = "This reset link is invalid or has expired."


class LoginLockedOut(exceptions.Throttled):
    default_detail = "Too many failed sign-ins for this account or from this address."
    default_code = "locked_out"


def _locked_out(exc: lockout.LockedOut) -> LoginLockedOut:
    return LoginLockedOut(wait=exc.retry_after)


class BearerChallengeMixin:
    """Answer 401s of these endpoints with the Bearer challenge, whatever else is installed."""

    def get_authenticate_header(self, request):
        return 'Bearer realm="api"'


_LOCKED = OpenApiResponse(
    description="Locked out after repeated failed sign-ins (see Retry-After), or rate limited."
)


@extend_schema(tags=["auth"])
class TokenObtainView(BearerChallengeMixin, APIView):
    """Sign in with an email and password; receive a JWT access and refresh token."""

    permission_classes = [DeclaredAccess]
    access = {"post": PUBLIC}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Obtain a JWT pair",
        request=TokenObtainSerializer,
        responses={
            200: TokenPairSerializer,
            400: OpenApiResponse(description="A field is missing or malformed."),
            401: OpenApiResponse(description="The email address or password is incorrect."),
            429: _LOCKED,
        },
        examples=[
            OpenApiExample(
                "Credentials",
                value={"email": "ada@example.com", "password": "correct horse battery staple"},
                request_only=True,
            )
        ],
    )
    def post(self, request):
        serializer = TokenObtainSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            pair = services.token_obtain(
                request=request._request,
                email=serializer.validated_data["email"],
                password=serializer.validated_data["password"],
            )
        except lockout.LockedOut as exc:
            raise _locked_out(exc) from None
        except services.InvalidCredentials:
            raise exceptions.AuthenticationFailed(
                INVALID_CREDENTIALS, code="invalid_credentials"
            ) from None
        return Response(pair)


@extend_schema(tags=["auth"])
class TokenRefreshView(BearerChallengeMixin, APIView):
    """Exchange a refresh token for a new pair. Each refresh token works once."""

    permission_classes = [DeclaredAccess]
    access = {"post": PUBLIC}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Refresh a JWT pair (rotation)",
        request=TokenRefreshSerializer,
        responses={
            200: TokenPairSerializer,
            400: OpenApiResponse(description="The refresh field is missing."),
            401: OpenApiResponse(
                description=(
                    "The refresh token is invalid, expired or revoked. A token that was "
                    "already exchanged also revokes every refresh token of its user."
                )
            ),
            429: OpenApiResponse(description="Rate limited."),
        },
    )
    def post(self, request):
        serializer = TokenRefreshSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            pair = services.token_refresh(
                raw_token=serializer.validated_data["refresh"], request=request._request
            )
        except services.RefreshTokenRefused as exc:
            raise exceptions.AuthenticationFailed(exc.message, code=INVALID_TOKEN_CODE) from None
        return Response(pair)


@extend_schema(tags=["auth"])
class LogoutView(APIView):
    """Sign out everywhere tokens are used: revoke every refresh token; end this session."""

    permission_classes = [DeclaredAccess]
    access = {"post": AUTHENTICATED}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Sign out",
        request=None,
        responses={
            204: OpenApiResponse(description="Signed out."),
            401: OpenApiResponse(description="Not signed in."),
        },
    )
    def post(self, request):
        services.user_logout(
            user=request.user,
            request=request._request,
            ends_session=isinstance(request.successful_authenticator, SessionAuthentication),
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(tags=["auth"])
class PasswordChangeView(APIView):
    """Change the signed-in user's password; revokes every refresh token of the user."""

    permission_classes = [DeclaredAccess]
    access = {"post": AUTHENTICATED}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Change my password",
        request=PasswordChangeSerializer,
        responses={
            200: PasswordChangedSerializer,
            400: OpenApiResponse(
                description="The old password is wrong, or the new one fails a password rule."
            ),
            401: OpenApiResponse(description="Not signed in."),
            429: _LOCKED,
        },
    )
    def post(self, request):
        serializer = PasswordChangeSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        try:
            pair = services.password_change(
                user=request.user,
                old_password=serializer.validated_data["old_password"],
                new_password=serializer.validated_data["new_password"],
                request=request._request,
                keeps_session=isinstance(request.successful_authenticator, SessionAuthentication),
                issues_tokens=isinstance(request.auth, AccessToken),
            )
        except lockout.LockedOut as exc:
            raise _locked_out(exc) from None
        except services.InvalidCredentials:
            raise exceptions.ValidationError(
                {"old_password": ["The current password is incorrect."]}
            ) from None
        pair = pair or {"access": None, "refresh": None}
        return Response({"detail": "Your password was changed.", **pair})


@extend_schema(tags=["auth"])
class PasswordResetRequestView(APIView):
    """Ask for a password-reset link by email. The answer never tells whether it was sent."""

    permission_classes = [DeclaredAccess]
    access = {"post": PUBLIC}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Request a password reset",
        request=PasswordResetRequestSerializer,
        responses={
            202: DetailSerializer,
            400: OpenApiResponse(description="The email field is missing or malformed."),
            429: OpenApiResponse(description="Rate limited."),
        },
        examples=[OpenApiExample("Address", value={"email": "ada@example.com"}, request_only=True)],
    )
    def post(self, request):
        serializer = PasswordResetRequestSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.password_reset_request(
            email=serializer.validated_data["email"], request=request._request
        )
        return Response({"detail": PASSWORD_RESET_REQUESTED}, status=status.HTTP_202_ACCEPTED)


@extend_schema(tags=["auth"])
class PasswordResetConfirmView(APIView):
    """Set a new password with the uid and token of a reset email; each link works once."""

    permission_classes = [DeclaredAccess]
    access = {"post": PUBLIC}
    rate_limit_scope = "auth"

    @extend_schema(
        summary="Confirm a password reset",
        request=PasswordResetConfirmSerializer,
        responses={
            200: DetailSerializer,
            400: OpenApiResponse(
                description=(
                    "A field is missing; the link is invalid, used or expired "
                    "(`details.token`); or the new password fails a password rule "
                    "(`details.new_password`)."
                )
            ),
            429: OpenApiResponse(description="Rate limited."),
        },
    )
    def post(self, request):
        serializer = PasswordResetConfirmSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            services.password_reset_confirm(
                uid=serializer.validated_data["uid"],
                token=serializer.validated_data["token"],
                new_password=serializer.validated_data["new_password"],
                request=request._request,
            )
        except services.InvalidResetLink:
            raise exceptions.ValidationError({"token": [INVALID_RESET_LINK]}) from None
        return Response({"detail": "Your password was reset. Sign in with the new one."})
