"""Background jobs of API keys: thin wrappers around services."""

from celery import shared_task

from . import services


@shared_task(name="apikeys.warn_expiring_api_keys", ignore_result=True)
def warn_expiring_api_keys() -> int:
    """Warn, once per key, the creators of keys expiring within 7 days (daily, by beat)."""
    return services.api_keys_warn_expiring()
