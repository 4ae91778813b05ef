from django.conf import settings
from django.core import checks


@checks.register(checks.Tags.security)
def chain_key_is_set(app_configs=None, **kwargs):
    """In production the audit chain needs a key, or anyone with database access can re-forge it."""
    if settings.DEBUG or settings.AUDIT_CHAIN_KEY:
        return []
    return [
        checks.Warning(
            "AUDIT_CHAIN_KEY is empty: the audit log's hash chain then detects edits only by "
            "someone who does not recompute the hashes.",
            hint="Set AUDIT_CHAIN_KEY to a long random value kept out of the database, and "
            "never change it (docs/AUDIT.md).",
            id="audit.W001",
        )
    ]
