from django.apps import AppConfig


class ApikeysConfig(AppConfig):
    name = "apps.apikeys"
    label = "apikeys"
    verbose_name = "API keys"

    def ready(self):
        from . import receivers, schema  # noqa: F401  (connects receivers, the OpenAPI scheme)
