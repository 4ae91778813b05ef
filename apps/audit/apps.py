from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "apps.audit"
    label = "audit"
    verbose_name = "Audit log"

    def ready(self):
        from . import checks, receivers  # noqa: F401 (registers the system check)
        from .registry import audited_models, register_audited_models

        register_audited_models()
        receivers.connect_m2m_receivers(audited_models())
