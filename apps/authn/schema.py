"""The OpenAPI description of the JWT authentication (drf-spectacular extension)."""

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme


class JWTAuthenticationScheme(SimpleJWTScheme):
    """`Authorization: Bearer <access token>`, from POST /api/v1/auth/token/."""

    target_class = "apps.authn.authentication.JWTAuthentication"
    name = "jwtAuth"
