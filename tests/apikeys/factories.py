"""Keys for tests, made through the service as the API would make them."""

from rest_framework.test import APIClient

from apps.access.policy import member_access
from apps.apikeys import services

ORG = "/api/v1/orgs/acme"


def issue_key(membership, scopes, **fields):
    """A key created by `membership`'s user through the service: (ApiKey, full key)."""
    access = member_access(user=membership.user, organization_slug=membership.organization.slug)
    return services.api_key_create(
        access=access, name=fields.pop("name", "ci"), scopes=scopes, **fields
    )


def client_with_key(raw_key: str, *, header: str = "authorization", **extra) -> APIClient:
    client = APIClient(**extra)
    if header == "authorization":
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
    else:
        client.credentials(HTTP_X_API_KEY=raw_key)
    return client
