"""An API key never does more than its scopes, even through membership rules."""

import pytest
from rest_framework.test import APIClient

from apps.access.policy import member_access
from apps.apikeys.models import ApiKey
from apps.apikeys.services import api_key_create
from apps.organizations.models import Membership

pytestmark = pytest.mark.django_db


def key_for(membership, scopes, **fields):
    access = member_access(user=membership.user, organization_slug=membership.organization.slug)
    key, secret = api_key_create(access=access, name="k", scopes=scopes, **fields)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    return key, secret, client


def test_a_members_update_key_cannot_make_an_owner(owner, member_of, organization):
    viewer = member_of(organization, "viewer")
    _key, _secret, client = key_for(owner, ["members:read", "members:update"])
    response = client.patch(f"/api/v1/orgs/acme/members/{viewer.pk}/", {"role": "owner"})
    assert response.status_code == 403
    viewer.refresh_from_db()
    assert viewer.role.key == "viewer"
    # Within its scopes it may still hand out a role that holds no more than them.
    assert (
        client.patch(f"/api/v1/orgs/acme/members/{viewer.pk}/", {"role": "viewer"}).status_code
        == 200
    )


def test_a_key_cannot_make_its_creator_leave(member_of, organization):
    editor = member_of(organization, "editor")
    key, _secret, client = key_for(editor, ["agents:read"])
    response = client.delete(f"/api/v1/orgs/acme/members/{editor.pk}/")
    assert response.status_code == 403
    assert Membership.objects.filter(pk=editor.pk).exists()
    key.refresh_from_db()
    assert not key.revoked


def test_a_key_cannot_mint_a_key_with_a_looser_rate_limit(member_of, organization):
    editor = member_of(organization, "editor")
    _key, _secret, client = key_for(
        editor, ["agents:read", "api_keys:create", "api_keys:read"], rate_limit=2
    )
    looser = client.post(
        "/api/v1/orgs/acme/api-keys/", {"name": "fast", "scopes": ["agents:read"], "rate_limit": 50}
    )
    assert looser.status_code == 400
    assert "rate_limit" in looser.json()["error"]["details"]
    inherited = client.post(
        "/api/v1/orgs/acme/api-keys/", {"name": "same", "scopes": ["agents:read"]}
    )
    assert inherited.status_code == 201
    assert ApiKey.objects.get(pk=inherited.json()["id"]).rate_limit == 2


def test_two_different_keys_in_two_headers_are_a_bad_credential(owner):
    _key, secret, _client = key_for(owner, ["agents:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}", HTTP_X_API_KEY="garbage")
    assert client.get("/api/v1/orgs/acme/agents/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}", HTTP_X_API_KEY=secret)
    assert client.get("/api/v1/orgs/acme/agents/").status_code == 200
