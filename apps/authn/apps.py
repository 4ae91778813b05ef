from django.apps import AppConfig


class AuthnConfig(AppConfig):
    name = "apps.authn"
    label = "authn"
    verbose_name = "Authentication"

    def ready(self):
        from . import schema  # noqa: F401  (registers the OpenAPI extension)
