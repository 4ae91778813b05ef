"""Real API keys (apps.apikeys) in the throttle: counted by the key, with the key's own limit."""

import pytest
from rest_framework.test import APIClient

from apps.access.policy import member_access
from apps.apikeys import services

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("limits")]

AGENTS = "/api/v1/orgs/acme/agents/"


@pytest.fixture
def issue(owner):
    access = member_access(user=owner.user, organization_slug="acme")

    def make(**fields):
        _key, raw_key = services.api_key_create(
            access=access, name="ci", scopes=["agents:read"], **fields
        )
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw_key}")
        return client

    return make


def test_a_key_s_own_limit_replaces_the_default(issue):
    client = issue(rate_limit=2)
    responses = [client.get(AGENTS) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[0]["RateLimit-Limit"] == "2"
    assert responses[2].json()["error"]["code"] == "throttled"


def test_keys_and_their_creator_have_separate_budgets(issue, owner, client_for):
    first, second = issue(), issue()
    assert [first.get(AGENTS).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert second.get(AGENTS).status_code == 200
    assert second.get(AGENTS)["RateLimit-Limit"] == "3"
    assert client_for(owner.user).get(AGENTS).status_code == 200
