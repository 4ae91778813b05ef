"""The benchmark's baseline view serves the same list as the API, without the checks."""

import pytest
from django.test import override_settings

from apps.agents.models import Agent

pytestmark = pytest.mark.django_db


@override_settings(ROOT_URLCONF="bench.urls")
def test_bench_baseline_lists_the_same_agents_as_the_api(owner_client, organization, api_client):
    Agent.objects.bulk_create(
        Agent(organization=organization, name=f"agent {i}", model_name="m") for i in range(7)
    )
    api = owner_client.get("/api/v1/orgs/acme/agents/", {"ordering": "name"}).json()
    baseline = api_client.get("/bench/unchecked/orgs/acme/agents/").json()
    assert baseline["count"] == api["count"] == 7
    assert [a["id"] for a in baseline["results"]] == [a["id"] for a in api["results"]]
