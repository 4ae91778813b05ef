"""The OpenAPI description of API key authentication (drf-spectacular extension)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    """`X-API-Key: <key>`, or the same key as `Authorization: Api-Key <key>`."""

    target_class = "apps.apikeys.authentication.ApiKeyAuthentication"
    name = "apiKeyAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-API-Key",
            "description": (
                "An organization's API key, `agentry_…`. Also accepted as "
                "`Authorization: Api-Key <key>`. See docs/API_KEYS.md."
            ),
        }
