from .models import AuditEntry, AuditEntryQuerySet


def audit_entry_list(*, organization) -> AuditEntryQuerySet:
    """An organization's entries (narrowed to it again by the API's one visibility filter)."""
    return AuditEntry.objects.for_organization(organization.pk)
