"""Reading the log: the API (who may, what they see, its filters) and the admin; nobody edits it."""

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from django.db import DatabaseError, connection, transaction

from apps.audit.chain import append
from apps.audit.models import AuditEntry, AuditLogImmutable
from tests.agents.factories import AgentFactory
from tests.apikeys.factories import issue_key
from tests.factories import UserFactory

from .conftest import api_caller

pytestmark = pytest.mark.django_db

ORG = "/api/v1/orgs/acme"
LOGS = f"{ORG}/audit-logs/"
ADMIN = "/admin/audit/auditentry/"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    return response.json()["results"]


def ids_of(response) -> set[int]:
    return {entry["id"] for entry in results(response)}


def error_details(response) -> dict:
    return response.json()["error"]["details"]


def entry_ids(organization) -> set[int]:
    return set(AuditEntry.objects.filter(organization=organization).values_list("id", flat=True))


@pytest.fixture
def globex_owner(other_organization, member_of):
    return member_of(other_organization, "owner")


@pytest.fixture
def globex_agent_entry(globex_owner):
    """An entry of globex's chain with an actor and a request id of its own."""
    client = api_caller(globex_owner.user, request_id="globex-request")
    response = client.post(
        "/api/v1/orgs/globex/agents/", {"name": "Globex bot", "model_name": "m"}, format="json"
    )
    assert response.status_code == 201
    return AuditEntry.objects.get(cid="globex-request")


@pytest.fixture
def acme_agent_entry(owner):
    client = api_caller(owner.user, request_id="acme-request")
    response = client.post(f"{ORG}/agents/", {"name": "Acme bot", "model_name": "m"})
    assert response.status_code == 201
    return AuditEntry.objects.get(cid="acme-request")


def add_events(organization, count: int, event: str = "backup.completed") -> list[AuditEntry]:
    entries = [
        AuditEntry(event=event, action=3, organization_id=organization.pk) for _ in range(count)
    ]
    append(entries)
    return entries


# --- one organization's entries only --------------------------------------------------


def test_the_list_shows_all_and_only_the_organizations_entries(
    owner, organization, acme_agent_entry, globex_agent_entry
):
    listed = ids_of(api_caller(owner.user).get(LOGS, {"page_size": 200}))

    assert listed == entry_ids(organization)
    assert acme_agent_entry.pk in listed
    assert globex_agent_entry.pk not in listed


def test_filters_never_reach_another_organizations_entries(
    owner, acme_agent_entry, globex_agent_entry, globex_owner
):
    client = api_caller(owner.user)

    for filters in (
        {"object_id": globex_agent_entry.object_pk},
        {"request_id": "globex-request"},
        {"actor": str(globex_owner.user.pk)},
    ):
        assert results(client.get(LOGS, filters)) == [], filters
    same_type = ids_of(client.get(LOGS, {"resource_type": "agents.agent"}))
    assert same_type == {acme_agent_entry.pk}


def test_another_organizations_entry_is_not_found_by_id(owner, globex_agent_entry):
    client = api_caller(owner.user)

    response = client.get(f"{LOGS}{globex_agent_entry.pk}/")
    missing = client.get(f"{LOGS}999999999/")

    assert response.status_code == 404
    assert missing.status_code == 404
    assert response.json()["error"]["code"] == missing.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("file_format", ["jsonl", "csv"])
def test_the_export_contains_only_the_organizations_entries(
    owner, organization, acme_agent_entry, globex_agent_entry, file_format
):
    response = api_caller(owner.user).get(f"{LOGS}export/", {"format": file_format})

    assert response.status_code == 200
    body = b"".join(response.streaming_content).decode()
    if file_format == "jsonl":
        exported = {json.loads(line)["id"] for line in body.splitlines()}
    else:
        exported = {int(row["id"]) for row in csv.DictReader(io.StringIO(body))}
    assert exported == entry_ids(organization)  # the export event included
    assert globex_agent_entry.pk not in exported
    assert "Globex bot" not in body


def test_a_reader_of_acmes_log_cannot_read_globexs(admin_member, globex_agent_entry):
    client = api_caller(admin_member.user)
    globex_logs = "/api/v1/orgs/globex/audit-logs/"

    assert client.get(LOGS).status_code == 200
    assert client.get(globex_logs).status_code == 404
    assert client.get(f"{globex_logs}{globex_agent_entry.pk}/").status_code == 404
    assert client.get(f"{globex_logs}export/", {"format": "jsonl"}).status_code == 404


# --- who may read -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"), [("owner", 200), ("admin", 200), ("editor", 403), ("viewer", 403)]
)
def test_only_owners_and_admins_read_the_log(organization, member_of, role, status):
    client = api_caller(member_of(organization, role).user)
    entry = AuditEntry.objects.filter(organization=organization).first()

    assert client.get(LOGS).status_code == status
    assert client.get(f"{LOGS}{entry.pk}/").status_code == status
    assert client.get(f"{LOGS}export/", {"format": "jsonl"}).status_code == status


def test_an_api_key_reads_the_log_only_with_the_audit_logs_read_scope(owner):
    _key, without_scope = issue_key(owner, ["agents:read"])
    _key, with_scope = issue_key(owner, ["audit_logs:read"])

    refused = api_caller(raw_key=without_scope).get(LOGS)
    allowed = api_caller(raw_key=with_scope).get(LOGS)

    assert refused.status_code == 403
    assert allowed.status_code == 200
    assert results(allowed)


def test_anonymous_callers_are_refused(organization):
    response = api_caller().get(LOGS)

    assert response.status_code == 401


def test_an_entry_reads_back_with_its_actor_key_ip_and_request(owner, organization):
    key, raw_key = issue_key(owner, ["agents:manage", "audit_logs:read"])
    client = api_caller(raw_key=raw_key, request_id="read-back", ip="198.51.100.20")
    agent_id = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}).json()["id"]
    entry = AuditEntry.objects.get(cid="read-back")

    body = client.get(f"{LOGS}{entry.pk}/").json()

    assert body["id"] == entry.pk
    assert body["seq"] == entry.seq
    assert body["action"] == "create"
    assert body["resource_type"] == "agents.agent"
    assert body["object_id"] == agent_id
    assert body["object_repr"] == "Bot"
    assert body["changes"]["name"] == [None, "Bot"]
    assert body["actor"] == {"id": str(owner.user.pk), "email": owner.user.email}
    assert body["api_key"] == {"id": str(key.pk), "prefix": key.displayed_prefix}
    assert body["ip"] == "198.51.100.20"
    assert body["request_id"] == "read-back"
    assert body["task"] == ""
    assert body["hash"] == entry.hash
    assert body["prev_hash"] == entry.prev_hash


# --- nobody changes an entry ------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_write_methods_on_the_log_are_not_allowed(owner, organization, method):
    entry = AuditEntry.objects.filter(organization=organization).first()
    before = list(AuditEntry.objects.order_by("id").values())
    client = api_caller(owner.user)

    for url in (LOGS, f"{LOGS}{entry.pk}/", f"{LOGS}export/"):
        response = getattr(client, method)(url, {"event": "forged"}, format="json")
        assert response.status_code == 405, (url, response.content)

    assert list(AuditEntry.objects.order_by("id").values()) == before


def test_an_entry_cannot_be_saved_again_or_deleted(organization):
    entry = AuditEntry.objects.filter(organization=organization).first()
    original = AuditEntry.objects.filter(pk=entry.pk).values().get()
    entry.event = "forged"

    attempts = (
        entry.save,
        entry.delete,
        lambda: AuditEntry.objects.filter(pk=entry.pk).update(event="forged"),
        lambda: AuditEntry.objects.filter(pk=entry.pk).delete(),
        lambda: AuditEntry.objects.bulk_update([entry], ["event"]),
    )
    for attempt in attempts:
        # In a savepoint: bulk_update's own atomic block dooms the test's transaction.
        with pytest.raises(AuditLogImmutable), transaction.atomic():
            attempt()

    assert AuditEntry.objects.filter(pk=entry.pk).values().get() == original


@pytest.mark.postgres
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditentry SET event = 'forged' WHERE id = %s",
        "DELETE FROM audit_auditentry WHERE id = %s",
    ],
    ids=["update", "delete"],
)
def test_the_database_refuses_raw_changes_of_entries(organization, statement):
    entry = AuditEntry.objects.filter(organization=organization).first()
    original = AuditEntry.objects.filter(pk=entry.pk).values().get()

    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [entry.pk])

    assert AuditEntry.objects.filter(pk=entry.pk).values().get() == original


# --- the admin ----------------------------------------------------------------------------


@pytest.fixture
def staff_client(client):
    client.force_login(UserFactory(is_staff=True))
    return client


def test_staff_read_the_whole_log_in_the_admin(staff_client, acme_agent_entry, globex_agent_entry):
    changelist = staff_client.get(ADMIN)
    detail = staff_client.get(f"{ADMIN}{acme_agent_entry.pk}/change/")

    assert changelist.status_code == 200
    shown = {entry.pk for entry in changelist.context["cl"].result_list}
    assert {acme_agent_entry.pk, globex_agent_entry.pk} <= shown
    assert detail.status_code == 200
    assert acme_agent_entry.hash in detail.content.decode()
    assert 'name="_save"' not in detail.content.decode()


def test_staff_cannot_add_change_or_delete_entries_in_the_admin(staff_client, acme_agent_entry):
    original = AuditEntry.objects.filter(pk=acme_agent_entry.pk).values().get()
    change = f"{ADMIN}{acme_agent_entry.pk}/change/"
    delete = f"{ADMIN}{acme_agent_entry.pk}/delete/"

    assert staff_client.get(f"{ADMIN}add/").status_code == 403
    assert staff_client.post(f"{ADMIN}add/", {"event": "forged"}).status_code == 403
    assert staff_client.post(change, {"event": "forged", "_save": "Save"}).status_code == 403
    assert staff_client.get(delete).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    bulk = {"action": "delete_selected", "_selected_action": [acme_agent_entry.pk]}
    staff_client.post(ADMIN, bulk)

    assert AuditEntry.objects.filter(pk=acme_agent_entry.pk).values().get() == original


def test_superusers_cannot_change_entries_in_the_admin_either(client, acme_agent_entry):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))

    assert client.get(f"{ADMIN}add/").status_code == 403
    assert client.get(f"{ADMIN}{acme_agent_entry.pk}/delete/").status_code == 403
    assert client.post(f"{ADMIN}{acme_agent_entry.pk}/change/", {"event": "x"}).status_code == 403


def test_the_admin_is_closed_to_non_staff(client, acme_agent_entry):
    anonymous = client.get(ADMIN)
    client.force_login(UserFactory(is_staff=False))
    member = client.get(f"{ADMIN}{acme_agent_entry.pk}/change/")

    for response in (anonymous, member):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"action": "create"}, lambda entry: entry.event == "create"),
        ({"resource_type": "agents.agent"}, lambda entry: entry.resource_type == "agents.agent"),
    ],
    ids=["action", "resource_type"],
)
def test_the_admin_filters_by_action_and_resource_type(
    staff_client, acme_agent_entry, globex_agent_entry, query, expected
):
    add_events(acme_agent_entry.organization, 1)

    response = staff_client.get(ADMIN, query)

    assert response.status_code == 200
    shown = list(response.context["cl"].result_list)
    assert {acme_agent_entry.pk, globex_agent_entry.pk} <= {entry.pk for entry in shown}
    assert all(expected(entry) for entry in shown)
    assert len(shown) < AuditEntry.objects.count()


# --- the API's filters ------------------------------------------------------------------


def test_the_actor_and_api_key_filters(owner, admin_member, organization):
    key, raw_key = issue_key(owner, ["agents:manage"])
    api_caller(owner.user).post(f"{ORG}/agents/", {"name": "By owner", "model_name": "m"})
    api_caller(admin_member.user).post(f"{ORG}/agents/", {"name": "By admin", "model_name": "m"})
    api_caller(raw_key=raw_key).post(f"{ORG}/agents/", {"name": "By key", "model_name": "m"})
    client = api_caller(owner.user)

    by_admin = results(client.get(LOGS, {"actor": str(admin_member.user.pk)}))
    by_key = results(client.get(LOGS, {"api_key": str(key.pk)}))

    assert [entry["object_repr"] for entry in by_admin] == ["By admin"]
    assert [entry["object_repr"] for entry in by_key] == ["By key"]
    assert by_key[0]["actor"]["id"] == str(owner.user.pk)
    bad = client.get(LOGS, {"actor": "not-a-uuid"})
    assert bad.status_code == 400
    assert "actor" in error_details(bad)


def test_the_action_filter_takes_one_action_or_a_comma_separated_list(owner, organization):
    agent = AgentFactory(organization=organization, name="Bot")
    agent.description = "changed"
    agent.save()
    agent.delete()
    client = api_caller(owner.user)

    deletes = results(client.get(LOGS, {"action": "delete"}))
    changes = results(
        client.get(LOGS, {"action": "update,delete", "resource_type": "agents.agent"})
    )

    assert [(entry["action"], entry["object_repr"]) for entry in deletes] == [("delete", "Bot")]
    assert [entry["action"] for entry in changes] == ["delete", "update"]


@pytest.mark.parametrize("value", ["explode", "create,explode", "Create"])
def test_an_unknown_action_is_refused_naming_the_action_field(owner, value):
    response = api_caller(owner.user).get(LOGS, {"action": value})

    assert response.status_code == 400
    assert list(error_details(response)) == ["action"]


def test_the_resource_type_object_id_and_request_id_filters(owner, organization):
    agent = AgentFactory(organization=organization, name="Target")
    AgentFactory(organization=organization, name="Other")
    api_caller(owner.user, request_id="the-request").patch(
        f"{ORG}/agents/{agent.pk}/", {"description": "x"}
    )
    client = api_caller(owner.user)

    agents = results(client.get(LOGS, {"resource_type": "agents.agent"}))
    of_target = results(client.get(LOGS, {"object_id": str(agent.pk)}))
    of_request = results(client.get(LOGS, {"request_id": "the-request"}))

    assert sorted(entry["object_repr"] for entry in agents) == ["Other", "Target", "Target"]
    assert [entry["action"] for entry in of_target] == ["update", "create"]
    assert [(entry["action"], entry["object_id"]) for entry in of_request] == [
        ("update", str(agent.pk))
    ]


def at(day: int) -> datetime:
    return datetime(2020, 1, day, 12, 0, tzinfo=UTC)


def test_since_and_until_bound_the_time_range(owner, organization, audit_clock):
    for day, name in ((1, "first"), (2, "second"), (3, "third")):
        audit_clock.now = at(day)
        AgentFactory(organization=organization, name=name)
    client = api_caller(owner.user)

    def names(**bounds):
        query = {"resource_type": "agents.agent", **bounds}
        return [entry["object_repr"] for entry in results(client.get(LOGS, query))]

    assert names(since=at(2).isoformat()) == ["third", "second"]
    assert names(until=at(2).isoformat()) == ["first"]
    assert names(since="2020-01-01T12:00:00Z", until="2020-01-03T12:00:00Z") == [
        "second",
        "first",
    ]
    newest = results(
        client.get(LOGS, {"since": at(2).isoformat(), "resource_type": "agents.agent"})
    )
    assert newest[0]["timestamp"] == "2020-01-03T12:00:00Z"


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"since": "yesterday"}, "since"),
        ({"until": "2020-13-45T00:00:00Z"}, "until"),
        ({"since": "2020-01-02T00:00:00Z", "until": "2020-01-01T00:00:00Z"}, "until"),
        ({"since": "2020-01-02T00:00:00Z", "until": "2020-01-02T00:00:00Z"}, "until"),
    ],
    ids=["bad-since", "bad-until", "until-before-since", "until-equals-since"],
)
def test_a_bad_time_range_is_refused_naming_the_field(owner, query, field):
    response = api_caller(owner.user).get(LOGS, query)

    assert response.status_code == 400
    assert field in error_details(response)


def test_the_list_is_newest_first(owner, organization):
    add_events(organization, 3)

    listed = results(api_caller(owner.user).get(LOGS))

    seqs = [entry["seq"] for entry in listed]
    assert seqs == sorted(seqs, reverse=True)
    assert seqs[0] == AuditEntry.objects.filter(organization=organization).latest("seq").seq
    assert len(seqs) == AuditEntry.objects.filter(organization=organization).count()


def test_cursor_pagination_walks_every_entry_once_newest_first(owner, organization):
    add_events(organization, 5)
    expected = list(
        AuditEntry.objects.filter(organization=organization)
        .order_by("-seq")
        .values_list("id", flat=True)
    )
    client = api_caller(owner.user)

    seen, pages, url, query = [], 0, LOGS, {"page_size": 2}
    while url:
        body = client.get(url, query).json()
        assert len(body["results"]) <= 2
        seen += [entry["id"] for entry in body["results"]]
        url, query, pages = body["next"], None, pages + 1

    assert seen == expected
    assert pages == -(-len(expected) // 2)


def test_a_page_holds_at_most_200_entries(owner, organization):
    add_events(organization, 205)
    client = api_caller(owner.user)

    response = client.get(LOGS, {"page_size": 200})
    refused = client.get(LOGS, {"page_size": 500})

    assert len(results(response)) == 200
    assert response.json()["next"]
    assert refused.status_code == 400
    assert error_details(refused) == {"page_size": ["A whole number from 1 to 200."]}
