"""Requests made with an API key: what a key may do, and every way it is refused."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from apps.access.policy import member_access
from apps.access.roles import builtin_role
from apps.agents.models import Agent
from apps.apikeys import services
from apps.apikeys.authentication import ApiKeyAuthentication
from apps.apikeys.models import ApiKey
from apps.organizations.models import Membership
from tests.agents.factories import AgentFactory
from tests.factories import TEST_PASSWORD, MembershipFactory

from .factories import ORG, client_with_key, issue_key

pytestmark = pytest.mark.django_db


def assert_refused(response, rejections, reason):
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"]["code"] == "authentication_failed"
    assert body["error"]["request_id"]
    assert response["WWW-Authenticate"] == "Api-Key"
    assert rejections.reasons()[-1] == reason


def test_a_key_with_agents_read_lists_agents_and_cannot_create_one(owner, organization):
    AgentFactory.create_batch(3, organization=organization)
    _key, raw = issue_key(owner, ["agents:read"])
    client = client_with_key(raw)
    listed = client.get(f"{ORG}/agents/")
    assert listed.status_code == 200
    assert listed.json()["count"] == 3
    refused = client.post(f"{ORG}/agents/", {"name": "New", "model_name": "m"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "permission_denied"
    assert Agent.objects.count() == 3


def test_a_key_acts_as_its_creator(owner, organization):
    _key, raw = issue_key(owner, ["agents:create", "agents:read"])
    response = client_with_key(raw).post(f"{ORG}/agents/", {"name": "By key", "model_name": "m"})
    assert response.status_code == 201
    assert Agent.objects.get(name="By key").created_by == owner.user


def test_the_x_api_key_header_works_too(owner, organization):
    AgentFactory(organization=organization)
    _key, raw = issue_key(owner, ["agents:read"])
    response = client_with_key(raw, header="x-api-key").get(f"{ORG}/agents/")
    assert response.status_code == 200
    assert response.json()["count"] == 1


def test_the_authorization_keyword_is_case_insensitive(owner):
    _key, raw = issue_key(owner, ["agents:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"api-key {raw}")
    assert client.get(f"{ORG}/agents/").status_code == 200


def test_demoting_the_creator_narrows_the_key_on_the_next_request(owner, admin, organization):
    _key, raw = issue_key(admin, ["agents:create", "agents:read"])
    client = client_with_key(raw)
    assert client.post(f"{ORG}/agents/", {"name": "One", "model_name": "m"}).status_code == 201
    admin.role = builtin_role("viewer")
    admin.save()
    assert client.post(f"{ORG}/agents/", {"name": "Two", "model_name": "m"}).status_code == 403
    assert client.get(f"{ORG}/agents/").status_code == 200  # what the viewer still holds
    assert list(Agent.objects.values_list("name", flat=True)) == ["One"]


def test_removing_the_creator_revokes_their_keys(owner, editor, organization, rejections):
    key, raw = issue_key(editor, ["agents:read"])
    client = client_with_key(raw)
    assert client.get(f"{ORG}/agents/").status_code == 200
    owner_client = APIClient()
    owner_client.force_authenticate(owner.user)
    assert owner_client.delete(f"{ORG}/members/{editor.pk}/").status_code == 204
    key.refresh_from_db()
    assert key.revoked is True
    assert key.revoked_at is not None
    assert_refused(client.get(f"{ORG}/agents/"), rejections, "revoked")


def test_a_member_who_leaves_loses_only_their_keys_of_that_organization(
    organization, other_organization, member_of
):
    here = member_of(organization, "editor")
    there = MembershipFactory(organization=other_organization, user=here.user, role="editor")
    mine_here, _ = issue_key(here, ["agents:read"])
    mine_there, _ = issue_key(there, ["agents:read"])
    other_editor = member_of(organization, "editor")
    theirs, _ = issue_key(other_editor, ["agents:read"])
    here.delete()
    assert ApiKey.objects.get(pk=mine_here.pk).revoked is True
    assert ApiKey.objects.get(pk=mine_there.pk).revoked is False
    assert ApiKey.objects.get(pk=theirs.pk).revoked is False


def test_a_revoked_key_gets_401_and_is_recorded(owner, rejections):
    key, raw = issue_key(owner, ["agents:read"])
    services.api_key_revoke(key=key, acting_user=owner.user)
    assert_refused(client_with_key(raw).get(f"{ORG}/agents/"), rejections, "revoked")
    assert rejections.calls[-1]["key"].pk == key.pk
    assert rejections.calls[-1]["ip"] == "127.0.0.1"


def test_an_expired_key_gets_401_and_is_recorded(owner, rejections):
    key, raw = issue_key(owner, ["agents:read"], expires_at=timezone.now() + timedelta(days=1))
    client = client_with_key(raw)
    assert client.get(f"{ORG}/agents/").status_code == 200
    ApiKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() - timedelta(seconds=1))
    assert_refused(client.get(f"{ORG}/agents/"), rejections, "expired")
    assert rejections.calls[-1]["key"].pk == key.pk


def test_a_rotated_key_works_during_its_grace_period_then_gets_401(owner, rejections):
    old, old_raw = issue_key(owner, ["agents:read"])
    _new, new_raw = services.api_key_rotate(
        key=old,
        access=member_access(user=owner.user, organization_slug="acme"),
        grace_hours=24,
    )
    old_client, new_client = client_with_key(old_raw), client_with_key(new_raw)
    assert old_client.get(f"{ORG}/agents/").status_code == 200
    assert new_client.get(f"{ORG}/agents/").status_code == 200
    # Time travel: the grace period ended a second ago.
    ApiKey.objects.filter(pk=old.pk).update(grace_expires_at=timezone.now() - timedelta(seconds=1))
    assert_refused(old_client.get(f"{ORG}/agents/"), rejections, "rotated")
    assert "replacement" in old_client.get(f"{ORG}/agents/").json()["error"]["message"]
    assert new_client.get(f"{ORG}/agents/").status_code == 200


@pytest.mark.parametrize(
    ("allowed_ips", "remote_addr", "expected"),
    [
        (["203.0.113.0/24"], "203.0.113.77", 200),
        (["203.0.113.0/24"], "198.51.100.1", 401),
        (["198.51.100.1"], "198.51.100.1", 200),
        (["2001:db8::/32"], "2001:db8::1", 200),
        (["2001:db8::/32"], "203.0.113.77", 401),
        (["203.0.113.0/24"], "::ffff:203.0.113.9", 200),
        ([], "192.0.2.200", 200),
    ],
)
def test_a_key_works_only_from_its_allowed_ips(
    owner, rejections, allowed_ips, remote_addr, expected
):
    _key, raw = issue_key(owner, ["agents:read"], allowed_ips=allowed_ips)
    response = client_with_key(raw, REMOTE_ADDR=remote_addr).get(f"{ORG}/agents/")
    if expected == 200:
        assert response.status_code == 200
        assert rejections.calls == []
    else:
        assert_refused(response, rejections, "ip_not_allowed")
        assert rejections.calls[-1]["ip"] == remote_addr


def test_a_forged_forwarded_for_does_not_get_a_key_past_its_ip_rule(owner, rejections):
    _key, raw = issue_key(owner, ["agents:read"], allowed_ips=["203.0.113.0/24"])
    client = client_with_key(raw, REMOTE_ADDR="198.51.100.1")
    response = client.get(f"{ORG}/agents/", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert_refused(response, rejections, "ip_not_allowed")


def test_behind_a_trusted_proxy_the_forwarded_client_ip_is_checked(owner, settings, rejections):
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]
    _key, raw = issue_key(owner, ["agents:read"], allowed_ips=["203.0.113.0/24"])
    client = client_with_key(raw, REMOTE_ADDR="10.1.2.3")
    allowed = client.get(f"{ORG}/agents/", HTTP_X_FORWARDED_FOR="203.0.113.5")
    assert allowed.status_code == 200
    refused = client.get(f"{ORG}/agents/", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert_refused(refused, rejections, "ip_not_allowed")


@pytest.mark.parametrize(
    "presented",
    [
        "not-a-key",
        "agentry_AAAAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB",  # well formed, unknown
        "",
    ],
)
def test_a_malformed_or_unknown_key_gets_401(owner, rejections, presented):
    client = APIClient()
    client.credentials(HTTP_X_API_KEY=presented)
    response = client.get(f"{ORG}/agents/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "Invalid API key."
    assert rejections.calls[-1]["key"] is None
    assert rejections.reasons()[-1] in ("malformed", "unknown")


def test_a_known_prefix_with_a_wrong_secret_gets_401(owner, rejections):
    key, raw = issue_key(owner, ["agents:read"])
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert_refused(client_with_key(forged).get(f"{ORG}/agents/"), rejections, "unknown")
    assert rejections.calls[-1]["key"] is None
    assert rejections.calls[-1]["prefix"] == key.prefix


def test_an_authorization_header_without_the_key_gets_401(rejections):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key")
    assert client.get(f"{ORG}/agents/").status_code == 401
    assert rejections.reasons() == ["malformed"]


def test_a_key_of_a_disabled_account_gets_401(owner, rejections):
    _key, raw = issue_key(owner, ["agents:read"])
    owner.user.is_active = False
    owner.user.save()
    assert_refused(client_with_key(raw).get(f"{ORG}/agents/"), rejections, "creator_inactive")


def test_a_key_whose_creator_is_no_longer_a_member_gets_401_even_if_not_revoked(
    owner, editor, rejections
):
    key, raw = issue_key(editor, ["agents:read"])
    # A removal that bypassed the signal (a raw delete): the membership check still holds.
    Membership.objects.filter(pk=editor.pk)._raw_delete(connection.alias)
    assert ApiKey.objects.get(pk=key.pk).revoked is False
    assert_refused(client_with_key(raw).get(f"{ORG}/agents/"), rejections, "creator_not_member")


def test_a_bad_key_with_a_valid_session_still_gets_401(owner, rejections):
    client = APIClient()
    assert client.login(email=owner.user.email, password=TEST_PASSWORD)
    assert client.get(f"{ORG}/agents/").status_code == 200  # the session alone works
    client.credentials(HTTP_AUTHORIZATION="Api-Key agentry_nope")
    assert_refused(client.get(f"{ORG}/agents/"), rejections, "malformed")


def test_a_request_without_credentials_is_asked_for_them(organization):
    response = APIClient().get(f"{ORG}/agents/")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_no_key_header_leaves_authentication_to_the_other_classes(rf):
    request = rf.get("/api/v1/", HTTP_AUTHORIZATION="Bearer some.jwt.token")
    from rest_framework.request import Request

    assert ApiKeyAuthentication().authenticate(Request(request)) is None
    assert ApiKeyAuthentication().authenticate(Request(rf.get("/api/v1/"))) is None


def test_a_key_of_one_organization_sees_nothing_of_another(owner, organization, other_organization):
    # Its creator belongs to both, with every permission in each: the key still stays home.
    MembershipFactory(organization=other_organization, user=owner.user, role="owner")
    theirs = AgentFactory(organization=other_organization)
    _key, raw = issue_key(owner, ["agents:read", "members:read"])
    client = client_with_key(raw)
    assert client.get("/api/v1/orgs/globex/agents/").status_code == 404
    assert client.get(f"/api/v1/orgs/globex/agents/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/orgs/globex/members/").status_code == 404
    assert client.get("/api/v1/orgs/globex/").status_code == 404
    assert client.get(f"{ORG}/agents/{theirs.pk}/").status_code == 404


def test_a_key_cannot_list_or_create_organizations(owner):
    _key, raw = issue_key(owner, ["organization:manage"])
    client = client_with_key(raw)
    assert client.get("/api/v1/orgs/").status_code == 403
    created = client.post("/api/v1/orgs/", {"name": "By key"})
    assert created.status_code == 403
    assert client.get(f"{ORG}/").status_code == 200  # inside its organization, within scope


def test_last_use_is_written_at_most_once_a_minute(owner):
    key, raw = issue_key(owner, ["agents:read"])
    client = client_with_key(raw, REMOTE_ADDR="192.0.2.10")
    table = ApiKey._meta.db_table

    def key_updates(queries):
        return [q for q in queries if q["sql"].startswith("UPDATE") and table in q["sql"]]

    with CaptureQueriesContext(connection) as queries:
        for _ in range(3):
            assert client.get(f"{ORG}/agents/").status_code == 200
    assert len(key_updates(queries.captured_queries)) == 1
    key.refresh_from_db()
    first_use = key.last_used_at
    assert first_use is not None
    assert key.last_used_ip == "192.0.2.10"

    # A minute later (the guard in the cache has expired), the next request writes again.
    from django.core.cache import cache

    cache.delete(f"apikeys:last-used:{key.pk}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(f"{ORG}/agents/").status_code == 200
    assert len(key_updates(queries.captured_queries)) == 1
    key.refresh_from_db()
    assert key.last_used_at > first_use


def test_the_key_is_the_request_auth_with_its_rate_limit(owner, rf):
    from rest_framework.request import Request

    key, raw = issue_key(owner, ["agents:read"], rate_limit=30)
    request = Request(rf.get("/", HTTP_X_API_KEY=raw))
    user, auth = ApiKeyAuthentication().authenticate(request)
    assert user == owner.user
    assert auth.pk == key.pk
    assert auth.is_api_key is True
    assert auth.rate_limit == 30


def test_verifying_a_key_is_one_query(owner, django_assert_num_queries):
    from apps.apikeys.verification import check_key

    key, raw = issue_key(owner, ["agents:read"])
    with django_assert_num_queries(1):
        assert check_key(raw, ip="127.0.0.1").pk == key.pk
    assert ApiKey._meta.get_field("prefix").unique  # the lookup is on a unique index


def test_a_failing_rejection_listener_does_not_turn_401_into_500(owner):
    from apps.apikeys.signals import api_key_rejected

    def broken(sender, **kwargs):
        raise RuntimeError("listener down")

    api_key_rejected.connect(broken, weak=False)
    try:
        response = APIClient().get(f"{ORG}/agents/", HTTP_X_API_KEY="nope")
    finally:
        api_key_rejected.disconnect(broken)
    assert response.status_code == 401


@pytest.mark.postgres
def test_the_verification_query_uses_indexes_only(owner):
    from apps.apikeys.verification import key_lookup

    key, _raw = issue_key(owner, ["agents:read"])
    query = key_lookup(key.prefix).order_by()  # as .get() runs it: no ordering
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        plan = query.explain()
    assert "Seq Scan" not in plan
    assert "apikeys_apikey" in plan
    assert "Index" in plan
