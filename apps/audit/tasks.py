from celery import shared_task

from . import services


@shared_task(name="audit.apply_retention")
def apply_retention() -> int:
    """Archive and remove audit entries older than AUDIT_RETENTION_DAYS; return how many."""
    return services.audit_retention_apply().removed
