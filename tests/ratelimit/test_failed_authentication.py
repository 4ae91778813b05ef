"""Bad credentials are counted per IP: a flood of them meets the auth limit."""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "header",
    [
        {"HTTP_AUTHORIZATION": "Api-Key agentry_nothere.notavalidsecretatallxxxxxxxxxxxx"},
        {"HTTP_AUTHORIZATION": "Bearer not.a.token"},
    ],
)
def test_repeated_bad_credentials_are_throttled(api_client, settings, organization, header):
    settings.RATE_LIMIT_AUTH_MAX = 3
    settings.RATE_LIMIT_AUTH_TTL = 60
    url = "/api/v1/orgs/acme/agents/"
    statuses = [
        api_client.get(url, REMOTE_ADDR="198.51.100.9", **header).status_code for _ in range(5)
    ]
    assert statuses == [401, 401, 401, 429, 429]
    refused = api_client.get(url, REMOTE_ADDR="198.51.100.9", **header)
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) >= 1
    # Another address has its own budget.
    assert api_client.get(url, REMOTE_ADDR="198.51.100.10", **header).status_code == 401
