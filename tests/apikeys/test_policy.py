"""An organization's key policy: a maximum lifetime for new keys."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.apikeys.models import ApiKey, ApiKeyPolicy

from .factories import ORG, issue_key

pytestmark = pytest.mark.django_db

POLICY = f"{ORG}/api-key-policy/"
KEYS = f"{ORG}/api-keys/"


def create(client, **body):
    return client.post(KEYS, {"name": "k", "scopes": ["agents:read"], **body}, format="json")


def test_without_a_policy_keys_may_live_forever(owner_client):
    assert owner_client.get(POLICY).json()["max_lifetime_days"] is None
    assert not ApiKeyPolicy.objects.exists()  # reading the default writes nothing
    assert create(owner_client).status_code == 201


def test_owners_and_admins_set_the_policy(owner_client, admin, client_for, organization):
    response = owner_client.put(POLICY, {"max_lifetime_days": 90}, format="json")
    assert response.status_code == 200
    assert response.json()["max_lifetime_days"] == 90
    patched = client_for(admin.user).patch(POLICY, {"max_lifetime_days": 30}, format="json")
    assert patched.json()["max_lifetime_days"] == 30
    assert ApiKeyPolicy.objects.get(organization=organization).max_lifetime_days == 30
    cleared = owner_client.put(POLICY, {"max_lifetime_days": None}, format="json")
    assert cleared.json()["max_lifetime_days"] is None
    assert ApiKeyPolicy.objects.count() == 1


@pytest.mark.parametrize("value", [0, -3, 3651, "forever"])
def test_the_policy_refuses_impossible_lifetimes(owner_client, value):
    response = owner_client.put(POLICY, {"max_lifetime_days": value}, format="json")
    assert response.status_code == 400
    assert "max_lifetime_days" in response.json()["error"]["details"]


def test_with_a_max_lifetime_a_key_without_expiry_or_beyond_it_is_refused(owner_client):
    owner_client.put(POLICY, {"max_lifetime_days": 30}, format="json")
    without = create(owner_client)
    assert without.status_code == 400
    assert "30 days" in without.json()["error"]["details"]["expires_at"][0]
    beyond = create(owner_client, expires_at=(timezone.now() + timedelta(days=31)).isoformat())
    assert beyond.status_code == 400
    assert "expires_at" in beyond.json()["error"]["details"]
    assert not ApiKey.objects.exists()
    within = create(owner_client, expires_at=(timezone.now() + timedelta(days=29)).isoformat())
    assert within.status_code == 201


def test_the_policy_of_one_organization_does_not_bind_another(
    owner_client, other_organization, member_of, client_for
):
    owner_client.put(POLICY, {"max_lifetime_days": 1}, format="json")
    other_owner = member_of(other_organization, "owner")
    response = client_for(other_owner.user).post(
        "/api/v1/orgs/globex/api-keys/", {"name": "k", "scopes": ["agents:read"]}, format="json"
    )
    assert response.status_code == 201


def test_a_key_that_breaks_a_newer_policy_is_not_rotated_into_a_copy(owner_client, owner):
    old, _raw = issue_key(owner, ["agents:read"])  # no expiry, before any policy
    owner_client.put(POLICY, {"max_lifetime_days": 30}, format="json")
    response = owner_client.post(f"{KEYS}{old.pk}/rotate/", {})
    assert response.status_code == 400
    assert "new key" in " ".join(response.json()["error"]["details"]["non_field_errors"])
    assert ApiKey.objects.count() == 1
