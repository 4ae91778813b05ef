from celery import shared_task

from . import services


class BrokenChainsKept(Exception):
    """Retention left chains that do not verify untouched: they need a person's attention."""


@shared_task(name="audit.apply_retention")
def apply_retention() -> int:
    """Archive and remove audit entries older than AUDIT_RETENTION_DAYS; return how many.

    Fails (after doing the rest) when a chain does not verify, so that the
    failure shows wherever task failures are watched.
    """
    report = services.audit_retention_apply()
    if report.refused:
        raise BrokenChainsKept("; ".join(report.refused))
    return report.removed


@shared_task(name="audit.write_checkpoint")
def write_checkpoint() -> str:
    """Record where every audit chain ends, outside the database (see services)."""
    return services.audit_checkpoint_write()
