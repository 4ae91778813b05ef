from django.apps import AppConfig


class KnowledgeConfig(AppConfig):
    name = "apps.knowledge"
    label = "knowledge"
    verbose_name = "Knowledge bases"

    def ready(self):
        from . import receivers  # noqa: F401  (connects the receivers)
