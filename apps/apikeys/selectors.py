from django.db.models import QuerySet

from apps.organizations.models import Organization

from .models import ApiKey


def api_key_list(*, organization: Organization) -> QuerySet[ApiKey]:
    """The keys of `organization`, newest first, with their creators (one query per page)."""
    return (
        ApiKey.objects.filter(organization=organization)
        .select_related("created_by")
        .order_by("-created", "id")
    )
