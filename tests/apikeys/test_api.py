"""The API key endpoints: issuing, listing, narrowing, revoking and rotating keys."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from apps.apikeys.api.views import ApiKeyViewSet
from apps.apikeys.models import ApiKey
from tests.factories import MembershipFactory

from .factories import ORG, client_with_key, issue_key

pytestmark = pytest.mark.django_db

KEYS = f"{ORG}/api-keys/"


def create(client, **body):
    body.setdefault("name", "deploy bot")
    body.setdefault("scopes", ["agents:read"])
    return client.post(KEYS, body, format="json")


# --- issuing -------------------------------------------------------------------


def test_the_full_key_is_shown_once_and_stored_only_as_a_hash(
    owner_client, owner, django_capture_on_commit_callbacks, created_signals
):
    with django_capture_on_commit_callbacks(execute=True):
        response = create(owner_client, scopes=["agents:read", "workflows:create"])
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    raw = body["key"]
    assert raw.startswith("agentry_")
    assert len(raw) == len("agentry_") + 8 + 1 + 32
    assert body["prefix"] == raw.split(".")[0]
    assert body["scopes"] == ["agents:read", "workflows:create"]
    assert body["created_by"]["id"] == str(owner.user.pk)
    assert body["status"] == "active"
    uuid.UUID(body["id"])  # opaque, not a sequence nor the hash

    stored = ApiKey.objects.get(pk=body["id"])
    assert stored.hashed_key.startswith("sha512$$")
    stored_values = [str(value) for value in ApiKey.objects.filter(pk=stored.pk).values().get()]
    assert not any(raw in value or raw.split(".")[1] in value for value in stored_values)

    listed = owner_client.get(KEYS)
    retrieved = owner_client.get(f"{KEYS}{body['id']}/")
    for response in (listed, retrieved):
        assert response.status_code == 200
        text = response.content.decode()
        assert raw.split(".")[1] not in text
        assert "hashed_key" not in text
        assert "sha512" not in text
    assert listed.json()["results"][0]["prefix"] == body["prefix"]
    assert "key" not in retrieved.json()

    assert client_with_key(raw).get(f"{ORG}/agents/").status_code == 200
    assert len(created_signals.calls) == 1
    assert created_signals.calls[0]["key"].pk == stored.pk
    assert created_signals.calls[0]["created_by"] == owner.user
    assert created_signals.calls[0]["rotated_from"] is None


def test_list_shows_what_the_issue_asks(owner_client, owner):
    _key, raw = issue_key(
        owner,
        ["agents:read"],
        allowed_ips=["192.0.2.0/24"],
        expires_at=timezone.now() + timedelta(days=30),
        rate_limit=100,
    )
    client_with_key(raw, REMOTE_ADDR="192.0.2.9").get(f"{ORG}/agents/")
    row = owner_client.get(KEYS).json()["results"][0]
    assert {
        "name",
        "prefix",
        "scopes",
        "allowed_ips",
        "rate_limit",
        "created_by",
        "created_at",
        "expires_at",
        "last_used_at",
        "last_used_ip",
        "revoked",
        "status",
    } <= set(row)
    assert row["allowed_ips"] == ["192.0.2.0/24"]
    assert row["rate_limit"] == 100
    assert row["last_used_ip"] == "192.0.2.9"
    assert row["last_used_at"] is not None
    assert row["expires_at"] is not None
    assert row["revoked"] is False


def test_scope_escalation_at_creation_is_refused_naming_the_scopes(
    editor, client_for, created_signals
):
    response = create(client_for(editor.user), scopes=["agents:read", "members:manage"])
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert "members:manage" in message
    assert "agents:read" not in message
    assert not ApiKey.objects.exists()
    assert created_signals.calls == []


def test_manage_scope_needs_manage_not_only_the_four_actions(editor, client_for):
    # An Editor holds agents:create/read/update/delete, but not agents:manage.
    response = create(client_for(editor.user), scopes=["agents:manage"])
    assert response.status_code == 403
    assert "agents:manage" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"scopes": []}, "scopes"),
        ({"scopes": ["agents:fly"]}, "scopes"),
        ({"allowed_ips": ["not an ip"]}, "allowed_ips"),
        ({"allowed_ips": ["10.1.2.3/8"]}, "allowed_ips"),
        ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
        ({"rate_limit": 0}, "rate_limit"),
        ({"name": ""}, "name"),
        ({"name": "x" * 51}, "name"),
    ],
)
def test_invalid_fields_are_refused_with_field_messages(owner_client, body, field):
    response = create(owner_client, **body)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    assert not ApiKey.objects.exists()


def test_a_network_with_host_bits_is_refused_with_a_suggestion(owner_client):
    response = create(owner_client, allowed_ips=["10.1.2.3/8"])
    assert "10.0.0.0/8" in response.json()["error"]["details"]["allowed_ips"][0]


def test_only_key_managers_give_a_key_more_than_the_default_rate_limit(
    editor, owner_client, client_for, settings
):
    settings.RATE_LIMIT_MAX = 100
    assert create(client_for(editor.user), rate_limit=100).status_code == 201
    refused = create(client_for(editor.user), rate_limit=101)
    assert refused.status_code == 400
    assert "rate_limit" in refused.json()["error"]["details"]
    assert create(owner_client, rate_limit=5000).status_code == 201


def test_a_key_can_create_keys_only_within_its_own_scopes(owner):
    _key, raw = issue_key(owner, ["api_keys:create", "agents:read"])
    client = client_with_key(raw)
    assert create(client, scopes=["agents:read"]).status_code == 201
    refused = create(client, scopes=["agents:create"])  # the owner holds it; the key does not
    assert refused.status_code == 403
    assert "agents:create" in refused.json()["error"]["message"]


def test_a_key_made_with_a_key_cannot_outlive_it_nor_leave_its_networks(owner):
    parent_expiry = timezone.now() + timedelta(days=2)
    _key, raw = issue_key(
        owner,
        ["api_keys:create", "agents:read"],
        expires_at=parent_expiry,
        allowed_ips=["127.0.0.0/8"],
    )
    client = client_with_key(raw)
    forever = create(client, allowed_ips=["127.0.0.1"])
    assert forever.status_code == 400
    assert "expires_at" in forever.json()["error"]["details"]
    later = (parent_expiry + timedelta(hours=1)).isoformat()
    assert create(client, expires_at=later, allowed_ips=["127.0.0.1"]).status_code == 400
    sooner = (parent_expiry - timedelta(hours=1)).isoformat()
    anywhere = create(client, expires_at=sooner)
    assert anywhere.status_code == 400
    assert "allowed_ips" in anywhere.json()["error"]["details"]
    assert create(client, expires_at=sooner, allowed_ips=["127.0.0.1"]).status_code == 201
    assert ApiKey.objects.count() == 2


def test_a_key_may_rotate_itself(owner):
    key, raw = issue_key(
        owner,
        ["api_keys:create", "api_keys:read"],
        expires_at=timezone.now() + timedelta(days=2),
        allowed_ips=["127.0.0.1"],
    )
    response = client_with_key(raw).post(f"{KEYS}{key.pk}/rotate/", {"grace_hours": 1})
    assert response.status_code == 201
    assert client_with_key(response.json()["key"]).get(KEYS).status_code == 200


# --- who sees and acts on which keys ------------------------------------------------


@pytest.fixture
def keys_of_two_editors(organization, member_of, editor):
    other = member_of(organization, "editor")
    mine, _ = issue_key(editor, ["agents:read"], name="mine")
    theirs, _ = issue_key(other, ["agents:read"], name="theirs")
    return mine, theirs


def test_an_editor_sees_and_revokes_only_their_own_keys(editor, client_for, keys_of_two_editors):
    mine, theirs = keys_of_two_editors
    client = client_for(editor.user)
    listed = client.get(KEYS).json()
    assert [row["name"] for row in listed["results"]] == ["mine"]
    assert client.get(f"{KEYS}{theirs.pk}/").status_code == 404
    assert client.post(f"{KEYS}{theirs.pk}/revoke/").status_code == 404
    assert client.delete(f"{KEYS}{theirs.pk}/").status_code == 404
    assert client.post(f"{KEYS}{theirs.pk}/rotate/", {}).status_code == 404
    assert ApiKey.objects.get(pk=theirs.pk).revoked is False
    assert client.post(f"{KEYS}{mine.pk}/revoke/").status_code == 200
    assert ApiKey.objects.get(pk=mine.pk).revoked is True


def test_a_filter_by_creator_cannot_widen_an_editors_list(editor, client_for, keys_of_two_editors):
    _mine, theirs = keys_of_two_editors
    listed = client_for(editor.user).get(KEYS, {"created_by": str(theirs.created_by_id)})
    assert listed.json()["count"] == 0


def test_key_managers_see_and_revoke_every_key(admin, client_for, keys_of_two_editors):
    mine, theirs = keys_of_two_editors
    client = client_for(admin.user)
    assert {row["name"] for row in client.get(KEYS).json()["results"]} == {"mine", "theirs"}
    filtered = client.get(KEYS, {"created_by": str(theirs.created_by_id)}).json()
    assert [row["name"] for row in filtered["results"]] == ["theirs"]
    response = client.post(f"{KEYS}{theirs.pk}/revoke/")
    assert response.status_code == 200
    assert response.json()["status"] == "revoked"
    assert client.delete(f"{KEYS}{mine.pk}/").status_code == 204
    assert set(ApiKey.objects.values_list("revoked", flat=True)) == {True}
    assert client.get(KEYS, {"revoked": "false"}).json()["count"] == 0


ROLE_EXPECTATIONS = {
    # action: {role: status}
    "list": {"owner": 200, "admin": 200, "editor": 200, "viewer": 403, "non-member": 404},
    "create": {"owner": 201, "admin": 201, "editor": 201, "viewer": 403, "non-member": 404},
    "retrieve own": {"owner": 200, "admin": 200, "editor": 200},
    "rename own": {"owner": 200, "admin": 200, "editor": 403},
    "rotate own": {"owner": 201, "admin": 201, "editor": 201},
    "revoke own": {"owner": 200, "admin": 200, "editor": 200},
    "read policy": {"owner": 200, "admin": 200, "editor": 200, "viewer": 403, "non-member": 404},
    "set policy": {"owner": 200, "admin": 200, "editor": 403, "viewer": 403, "non-member": 404},
}


@pytest.mark.parametrize(
    ("action", "role", "expected"),
    [
        (action, role, expected)
        for action, by_role in ROLE_EXPECTATIONS.items()
        for role, expected in by_role.items()
    ],
)
def test_the_api_keys_permissions_of_each_role(
    organization, other_organization, owner, member_of, client_for, action, role, expected
):
    if role == "non-member":
        user = MembershipFactory(organization=other_organization, role="owner").user
    else:
        membership = owner if role == "owner" else member_of(organization, role)
        user = membership.user
        own = issue_key(membership, ["agents:read"])[0] if action.endswith(" own") else None
    client = client_for(user)
    requests = {
        "list": lambda: client.get(KEYS),
        "create": lambda: create(client),
        "retrieve own": lambda: client.get(f"{KEYS}{own.pk}/"),
        "rename own": lambda: client.patch(f"{KEYS}{own.pk}/", {"name": "renamed"}),
        "rotate own": lambda: client.post(f"{KEYS}{own.pk}/rotate/", {}),
        "revoke own": lambda: client.post(f"{KEYS}{own.pk}/revoke/"),
        "read policy": lambda: client.get(f"{ORG}/api-key-policy/"),
        "set policy": lambda: client.put(f"{ORG}/api-key-policy/", {"max_lifetime_days": 30}),
    }
    response = requests[action]()
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert "error" in response.json()


# --- narrowing after creation ---------------------------------------------------


@pytest.fixture
def wide_key(owner):
    key, _raw = issue_key(
        owner,
        ["agents:manage", "workflows:read"],
        allowed_ips=["10.0.0.0/8"],
        expires_at=timezone.now() + timedelta(days=30),
        rate_limit=50,
    )
    return key


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"scopes": ["agents:manage", "workflows:read", "tools:read"]}, "scopes"),
        ({"scopes": ["workflows:create"]}, "scopes"),
        ({"allowed_ips": ["10.0.0.0/8", "192.0.2.1"]}, "allowed_ips"),
        ({"allowed_ips": []}, "allowed_ips"),
        ({"allowed_ips": ["0.0.0.0/0"]}, "allowed_ips"),
        ({"expires_at": (timezone.now() + timedelta(days=60)).isoformat()}, "expires_at"),
        ({"rate_limit": 51}, "rate_limit"),
    ],
)
def test_a_key_cannot_be_widened_after_creation(owner_client, wide_key, change, field):
    before = ApiKey.objects.filter(pk=wide_key.pk).values().get()
    response = owner_client.patch(f"{KEYS}{wide_key.pk}/", change, format="json")
    assert response.status_code == 400
    messages = response.json()["error"]["details"][field]
    assert any("new key" in message for message in messages)
    assert ApiKey.objects.filter(pk=wide_key.pk).values().get() == before


def test_a_key_can_be_renamed_and_narrowed(owner_client, wide_key):
    earlier = timezone.now() + timedelta(days=3)
    response = owner_client.patch(
        f"{KEYS}{wide_key.pk}/",
        {
            "name": "narrower",
            "scopes": ["agents:read"],
            "allowed_ips": ["10.20.0.0/16", "10.9.9.9"],
            "expires_at": earlier.isoformat(),
            "rate_limit": 10,
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "narrower"
    assert body["scopes"] == ["agents:read"]
    assert body["allowed_ips"] == ["10.20.0.0/16", "10.9.9.9"]
    assert body["rate_limit"] == 10
    wide_key.refresh_from_db()
    assert abs((wide_key.expiry_date - earlier).total_seconds()) < 1


def test_a_key_without_limits_can_be_given_some(owner_client, owner, settings):
    key, _raw = issue_key(owner, ["agents:read"])
    response = owner_client.patch(
        f"{KEYS}{key.pk}/",
        {
            "allowed_ips": ["192.0.2.0/24"],
            "expires_at": (timezone.now() + timedelta(days=1)).isoformat(),
            "rate_limit": settings.RATE_LIMIT_MAX,
        },
        format="json",
    )
    assert response.status_code == 200
    refused = owner_client.patch(
        f"{KEYS}{key.pk}/", {"rate_limit": settings.RATE_LIMIT_MAX + 1}, format="json"
    )
    assert refused.status_code == 400


# --- revoking -----------------------------------------------------------------------


def test_revoking_is_final_and_keeps_the_record(owner_client, owner, rejections):
    key, raw = issue_key(owner, ["agents:read"])
    first = owner_client.post(f"{KEYS}{key.pk}/revoke/")
    assert first.status_code == 200
    assert first.json()["revoked"] is True
    assert first.json()["revoked_at"] is not None
    again = owner_client.post(f"{KEYS}{key.pk}/revoke/")
    assert again.status_code == 200
    assert again.json()["revoked_at"] == first.json()["revoked_at"]
    assert owner_client.delete(f"{KEYS}{key.pk}/").status_code == 204
    assert ApiKey.objects.filter(pk=key.pk, revoked=True).exists()
    assert client_with_key(raw).get(f"{ORG}/agents/").status_code == 401


# --- rotating -------------------------------------------------------------------------


def test_rotation_issues_a_copy_and_keeps_the_old_key_for_the_grace_period(
    owner_client, owner, django_capture_on_commit_callbacks, created_signals, rejections
):
    old, old_raw = issue_key(
        owner,
        ["agents:read"],
        name="ci",
        allowed_ips=["127.0.0.1"],
        expires_at=timezone.now() + timedelta(days=20),
        rate_limit=42,
    )
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(f"{KEYS}{old.pk}/rotate/", {"grace_hours": 2})
    assert response.status_code == 201
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    new_raw = body["key"]
    assert new_raw != old_raw
    assert new_raw.startswith("agentry_")
    new = ApiKey.objects.get(pk=body["id"])
    assert (new.name, new.scopes, new.allowed_ips, new.rate_limit, new.expiry_date) == (
        old.name,
        old.scopes,
        old.allowed_ips,
        old.rate_limit,
        old.expiry_date,
    )
    assert new.created_by == owner.user
    old.refresh_from_db()
    assert old.replaced_by_id == new.pk
    assert 7190 < (old.grace_expires_at - timezone.now()).total_seconds() <= 7200
    assert body["rotated_from"]["id"] == str(old.pk)
    assert body["rotated_from"]["status"] == "rotating"
    assert "key" not in body["rotated_from"]
    assert created_signals.calls[-1]["rotated_from"].pk == old.pk

    assert client_with_key(old_raw).get(f"{ORG}/agents/").status_code == 200
    assert client_with_key(new_raw).get(f"{ORG}/agents/").status_code == 200
    ApiKey.objects.filter(pk=old.pk).update(grace_expires_at=timezone.now() - timedelta(seconds=1))
    assert client_with_key(old_raw).get(f"{ORG}/agents/").status_code == 401
    assert rejections.reasons() == ["rotated"]
    assert client_with_key(new_raw).get(f"{ORG}/agents/").status_code == 200
    assert owner_client.get(f"{KEYS}{old.pk}/").json()["status"] == "rotated"


def test_the_default_grace_period_comes_from_the_settings(owner_client, owner, settings):
    settings.API_KEY_ROTATION_GRACE_HOURS = 5
    old, _raw = issue_key(owner, ["agents:read"])
    assert owner_client.post(f"{KEYS}{old.pk}/rotate/", {}).status_code == 201
    old.refresh_from_db()
    assert 5 * 3600 - 10 < (old.grace_expires_at - timezone.now()).total_seconds() <= 5 * 3600


def test_a_grace_of_zero_stops_the_old_key_at_once(owner_client, owner):
    old, old_raw = issue_key(owner, ["agents:read"])
    assert owner_client.post(f"{KEYS}{old.pk}/rotate/", {"grace_hours": 0}).status_code == 201
    assert client_with_key(old_raw).get(f"{ORG}/agents/").status_code == 401


@pytest.mark.parametrize("grace_hours", [-1, 10_000, "soon"])
def test_the_grace_period_is_bounded(owner_client, owner, grace_hours):
    old, _raw = issue_key(owner, ["agents:read"])
    response = owner_client.post(f"{KEYS}{old.pk}/rotate/", {"grace_hours": grace_hours})
    assert response.status_code == 400
    assert "grace_hours" in response.json()["error"]["details"]
    assert ApiKey.objects.count() == 1


def test_a_key_is_rotated_once_and_dead_keys_not_at_all(owner_client, owner):
    old, _raw = issue_key(owner, ["agents:read"])
    assert owner_client.post(f"{KEYS}{old.pk}/rotate/", {}).status_code == 201
    again = owner_client.post(f"{KEYS}{old.pk}/rotate/", {})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "api_key_rotated"
    revoked, _raw = issue_key(owner, ["agents:read"])
    owner_client.post(f"{KEYS}{revoked.pk}/revoke/")
    assert owner_client.post(f"{KEYS}{revoked.pk}/rotate/", {}).status_code == 409
    expired, _raw = issue_key(owner, ["agents:read"], expires_at=timezone.now() + timedelta(1))
    ApiKey.objects.filter(pk=expired.pk).update(expiry_date=timezone.now() - timedelta(1))
    response = owner_client.post(f"{KEYS}{expired.pk}/rotate/", {})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "api_key_expired"


def test_a_manager_rotating_someone_elses_key_keeps_its_creator(admin, editor, client_for):
    old, _raw = issue_key(editor, ["agents:read"])
    response = client_for(admin.user).post(f"{KEYS}{old.pk}/rotate/", {})
    assert response.status_code == 201
    assert response.json()["created_by"]["id"] == str(editor.user.pk)


def test_nobody_rotates_a_key_holding_more_than_they_do(owner, admin, client_for):
    old, _raw = issue_key(owner, ["organization:delete"])  # an Admin does not hold this
    response = client_for(admin.user).post(f"{KEYS}{old.pk}/rotate/", {})
    assert response.status_code == 403
    assert "organization:delete" in response.json()["error"]["message"]
    assert ApiKey.objects.count() == 1


# --- the rate limiter's view of these endpoints --------------------------------------


@pytest.mark.parametrize(
    ("action", "scope"),
    [("create", "auth"), ("rotate", "auth"), ("list", "default"), ("revoke", "default")],
)
def test_issuing_keys_counts_against_the_auth_rate_limit(action, scope):
    view = ApiKeyViewSet()
    view.action = action
    assert view.rate_limit_scope == scope


# --- query counts ---------------------------------------------------------------------


@pytest.mark.parametrize("rows", [5, 50])
def test_key_list_queries_are_constant(
    owner_client, owner, organization, member_of, rows, django_assert_num_queries
):
    creators = [owner, *(member_of(organization, "editor") for _ in range(4))]
    for i in range(rows):
        issue_key(creators[i % len(creators)], ["agents:read"], name=f"key {i}")
    # membership, role permissions, count, page (creators joined)
    with django_assert_num_queries(4):
        response = owner_client.get(KEYS, {"page_size": 200})
    assert response.json()["count"] == rows
    assert len({row["created_by"]["id"] for row in response.json()["results"]}) == 5


@pytest.mark.parametrize("rows", [5, 50])
def test_key_list_by_key_queries_are_constant(owner, rows, django_assert_num_queries):
    for i in range(rows - 1):
        issue_key(owner, ["agents:read"], name=f"key {i}")
    _key, raw = issue_key(owner, ["api_keys:read"])
    client = client_with_key(raw)
    client.get(KEYS)  # the once-a-minute last-use write happens here, not below
    # the key (one query), then the same four as with a session
    with django_assert_num_queries(5):
        response = client.get(KEYS, {"page_size": 200})
    assert response.json()["count"] == rows


def test_the_browsable_api_renders_the_key_pages(owner, client):
    from tests.factories import TEST_PASSWORD

    key, _raw = issue_key(owner, ["agents:read"], expires_at=timezone.now() + timedelta(days=3))
    assert client.login(email=owner.user.email, password=TEST_PASSWORD)
    for url in (KEYS, f"{KEYS}{key.pk}/", f"{ORG}/api-key-policy/"):
        page = client.get(url, HTTP_ACCEPT="text/html")
        assert page.status_code == 200, url
        assert key.hashed_key not in page.content.decode()
