"""Exports of the audit log: CSV and JSON Lines, filtered, streamed, recorded, never leaking.

Bodies are parsed (the csv module, json per line), never compared as text.
"""

import csv
import gc
import io
import json
import time
import tracemalloc
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.utils import timezone

from apps.audit.chain import append
from apps.audit.events import AUDIT_LOG_EXPORTED
from apps.audit.export import CSV_COLUMNS
from apps.audit.models import AuditEntry
from apps.organizations.models import BuiltinRole

from ..factories import MembershipFactory

pytestmark = pytest.mark.django_db

EXPORT_URL = "/api/v1/orgs/acme/audit-logs/export/"


def agents_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/agents/"


def create_agent(client, name, slug="acme") -> str:
    response = client.post(agents_url(slug), {"name": name, "model_name": "m"}, format="json")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def body_of(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode("utf-8")


def csv_rows(response) -> tuple[list[str], list[dict]]:
    """(header, rows as dicts) of a CSV export."""
    reader = csv.reader(io.StringIO(body_of(response), newline=""))
    header = next(reader)
    return header, [dict(zip(header, row, strict=True)) for row in reader]


def jsonl_rows(response) -> list[dict]:
    text = body_of(response)
    assert text == "" or text.endswith("\n")
    return [json.loads(line) for line in text.splitlines()]


def export(client, file_format="csv", **filters):
    return client.get(EXPORT_URL, {"format": file_format, **filters})


def acme_entries(organization, **filters) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=organization, **filters).order_by("seq"))


@pytest.fixture
def acme_activity(owner_client, organization):
    """Agents created, renamed and deleted in acme: creates, updates and a delete."""
    first = create_agent(owner_client, "Support bot")
    second = create_agent(owner_client, "Sales bot")
    assert owner_client.patch(f"{agents_url()}{first}/", {"name": "Help bot"}).status_code == 200
    assert owner_client.delete(f"{agents_url()}{second}/").status_code == 204
    return acme_entries(organization)


@pytest.fixture
def globex_activity(other_organization, client_for):
    owner = MembershipFactory(organization=other_organization, role=BuiltinRole.OWNER)
    create_agent(client_for(owner.user), "Globex secret bot", slug="globex")
    return list(AuditEntry.objects.filter(organization=other_organization))


# --- Contents -------------------------------------------------------------------------------


def test_csv_export_has_a_header_and_every_entry_oldest_first(
    owner_client, organization, acme_activity
):
    response = export(owner_client, "csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    header, rows = csv_rows(response)
    assert header == list(CSV_COLUMNS)
    expected = acme_entries(organization)  # the export's own entry included
    assert [int(row["id"]) for row in rows] == [entry.pk for entry in expected]
    assert [int(row["seq"]) for row in rows] == list(range(1, len(expected) + 1))
    update = next(row for row in rows if row["action"] == "update")
    assert json.loads(update["changes"]) == {"name": ["Support bot", "Help bot"]}
    assert update["object_repr"] == "Help bot"
    assert update["resource_type"] == "agents.agent"


def test_jsonl_export_has_one_object_per_entry_oldest_first(
    owner_client, organization, owner, acme_activity
):
    response = export(owner_client, "jsonl")

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson; charset=utf-8"
    rows = jsonl_rows(response)
    expected = acme_entries(organization)
    assert [row["id"] for row in rows] == [entry.pk for entry in expected]
    assert all(set(row) == set(CSV_COLUMNS) for row in rows)
    update = next(row for row in rows if row["action"] == "update")
    assert update["changes"] == {"name": ["Support bot", "Help bot"]}
    assert update["actor_id"] == str(owner.user.pk)
    assert update["actor_email"] == owner.user.email
    assert [row["hash"] for row in rows[:-1]] == [row["prev_hash"] for row in rows[1:]]


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_export_is_streamed_as_an_uncached_attachment(owner_client, acme_activity, file_format):
    response = export(owner_client, file_format)

    assert isinstance(response, StreamingHttpResponse)
    disposition = response["Content-Disposition"]
    assert disposition.startswith('attachment; filename="audit-acme-')
    assert disposition.endswith(f'.{file_format}"')
    assert response["Cache-Control"] == "no-store"


def test_csv_is_the_default_format(owner_client, acme_activity):
    response = owner_client.get(EXPORT_URL)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_rows(response)[0] == list(CSV_COLUMNS)


def test_unicode_survives_both_formats(owner_client, acme_activity):
    create_agent(owner_client, "Kundendienst-Bot für Zürich ✓")

    csv_names = [row["object_repr"] for row in csv_rows(export(owner_client, "csv"))[1]]
    jsonl_names = [row["object_repr"] for row in jsonl_rows(export(owner_client, "jsonl"))]

    assert "Kundendienst-Bot für Zürich ✓" in csv_names
    assert "Kundendienst-Bot für Zürich ✓" in jsonl_names


# --- Filters --------------------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_action_filter_exports_only_those_actions(
    owner_client, organization, acme_activity, file_format
):
    response = export(owner_client, file_format, action="update,delete")

    rows = csv_rows(response)[1] if file_format == "csv" else jsonl_rows(response)
    expected = acme_entries(organization, event__in=["update", "delete"])
    assert {row["action"] for row in rows} == {"update", "delete"}
    assert [int(row["id"]) for row in rows] == [entry.pk for entry in expected]


def test_resource_type_filter_exports_only_that_type(owner_client, organization, acme_activity):
    rows = jsonl_rows(export(owner_client, "jsonl", resource_type="agents.agent"))

    expected = acme_entries(organization, resource_type="agents.agent")
    assert len(expected) >= 4
    assert [row["id"] for row in rows] == [entry.pk for entry in expected]


def test_time_range_filter_exports_entries_from_since_until_before_until(
    owner_client, organization, acme_activity
):
    entries = acme_activity
    since, until = entries[2].timestamp, entries[-1].timestamp

    rows = jsonl_rows(
        export(owner_client, "jsonl", since=since.isoformat(), until=until.isoformat())
    )

    expected = [entry for entry in entries if since <= entry.timestamp < until]
    assert expected  # the range is not empty
    assert [row["id"] for row in rows] == [entry.pk for entry in expected]


def test_until_before_since_is_refused(owner_client, acme_activity):
    now = timezone.now()
    response = export(
        owner_client,
        "csv",
        since=now.isoformat(),
        until=(now - timedelta(hours=1)).isoformat(),
    )

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "until" in response.json()["error"]["details"]


def test_unknown_action_is_a_json_400_not_a_csv(owner_client, acme_activity):
    response = export(owner_client, "csv", action="create,teleport")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "action" in response.json()["error"]["details"]


# --- The export is itself recorded ----------------------------------------------------------


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_export_is_recorded_and_is_the_last_row_it_exports(
    owner_client, organization, owner, acme_activity, file_format
):
    response = export(owner_client, file_format)
    rows = csv_rows(response)[1] if file_format == "csv" else jsonl_rows(response)

    recorded = acme_entries(organization)[-1]
    assert recorded.event == AUDIT_LOG_EXPORTED
    assert recorded.actor_id == owner.user.pk
    assert recorded.additional_data == {"format": file_format, "filters": {}}
    assert int(rows[-1]["id"]) == recorded.pk
    assert rows[-1]["action"] == AUDIT_LOG_EXPORTED


def test_recorded_export_names_its_filters(owner_client, organization, acme_activity):
    export(owner_client, "jsonl", action="update", resource_type="agents.agent")

    recorded = acme_entries(organization, event=AUDIT_LOG_EXPORTED)
    assert len(recorded) == 1
    assert recorded[0].additional_data == {
        "format": "jsonl",
        "filters": {"action": "update", "resource_type": "agents.agent"},
    }


def test_entries_written_after_the_export_started_are_not_in_it(
    owner_client, organization, acme_activity
):
    """The export covers the log up to its own entry, even while the body is being read."""
    response = export(owner_client, "jsonl")
    create_agent(owner_client, "Written during the download")  # before the body is consumed

    rows = jsonl_rows(response)

    assert rows[-1]["action"] == AUDIT_LOG_EXPORTED
    assert "Written during the download" not in {row["object_repr"] for row in rows}


# --- Safety ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ['=HYPERLINK("http://evil.example","x")', "+1+1", "-2+3", "@SUM(A1)"]
)
def test_csv_cells_that_a_spreadsheet_would_run_are_defused(owner_client, acme_activity, name):
    create_agent(owner_client, name)

    rows = csv_rows(export(owner_client, "csv"))[1]
    jsonl = jsonl_rows(export(owner_client, "jsonl"))

    reprs = [row["object_repr"] for row in rows if row["resource_type"] == "agents.agent"]
    assert "'" + name in reprs
    assert name not in reprs
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())
    # JSON Lines are data, not a spreadsheet: unchanged there.
    assert name in [row["object_repr"] for row in jsonl]


def test_other_organizations_entries_never_appear(
    owner_client, organization, acme_activity, globex_activity
):
    csv_body = body_of(export(owner_client, "csv"))
    rows = jsonl_rows(export(owner_client, "jsonl"))

    assert "Globex secret bot" not in csv_body
    globex_ids = {entry.pk for entry in globex_activity}
    assert not globex_ids & {row["id"] for row in rows}
    acme_ids = set(
        AuditEntry.objects.filter(organization=organization).values_list("pk", flat=True)
    )
    assert {row["id"] for row in rows} <= acme_ids


def test_unknown_format_is_a_400_naming_format(owner_client, acme_activity, organization):
    count = AuditEntry.objects.filter(organization=organization).count()

    response = export(owner_client, "xlsx")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert "format" in response.json()["error"]["details"]
    assert AuditEntry.objects.filter(organization=organization).count() == count  # not recorded


def test_unacceptable_accept_header_is_a_json_406(owner_client, acme_activity):
    response = owner_client.get(EXPORT_URL, HTTP_ACCEPT="application/pdf")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_acceptable"


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_viewer_export_refusal_is_a_json_403(
    organization, member_of, client_for, acme_activity, file_format
):
    viewer = client_for(member_of(organization, BuiltinRole.VIEWER).user)

    response = export(viewer, file_format)

    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "permission_denied"
    assert not AuditEntry.objects.filter(organization=organization, event=AUDIT_LOG_EXPORTED)


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_anonymous_export_refusal_is_a_json_401(api_client, acme_activity, file_format):
    response = export(api_client, file_format)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert response.json()["error"]["code"] == "not_authenticated"


def test_admin_of_another_organization_cannot_export_acme(
    other_organization, client_for, acme_activity
):
    outsider = MembershipFactory(organization=other_organization, role=BuiltinRole.OWNER)

    response = export(client_for(outsider.user), "csv")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"


# --- Memory ---------------------------------------------------------------------------------


def seed_entries(organization, count: int, *, batch: int = 1000) -> None:
    """`count` synthetic update entries in the organization's chain, appended in batches."""
    for start in range(0, count, batch):
        append(
            [
                AuditEntry(
                    organization_id=organization.pk,
                    event="update",
                    action=1,
                    resource_type="agents.agent",
                    object_pk=f"agent-{i}",
                    object_repr=f"Agent number {i}",
                    changes={"description": [f"old text {i}", f"new text {i}"]},
                )
                for i in range(start, min(start + batch, count))
            ]
        )


def peak_while_streaming(client, file_format: str) -> tuple[int, int]:
    """(tracemalloc peak in bytes, rows) while the export's body is read and dropped."""
    gc.collect()
    tracemalloc.start()
    try:
        response = export(client, file_format)
        rows = 0
        for chunk in response.streaming_content:
            rows += chunk.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return peak, rows


@pytest.mark.parametrize("file_format", ["csv", "jsonl"])
def test_export_memory_stays_flat_as_the_log_grows(
    owner_client, organization, other_organization, file_format
):
    """Ten times the entries must not take ten times the memory: the body is never built whole."""
    seed_entries(organization, 2_000)
    peak_while_streaming(owner_client, file_format)  # warm-up: first-request imports and caches
    small_peak, small_rows = peak_while_streaming(owner_client, file_format)
    seed_entries(organization, 18_000)

    started = time.monotonic()
    large_peak, large_rows = peak_while_streaming(owner_client, file_format)

    assert large_rows >= 20_000 > 2_000 <= small_rows
    assert large_peak <= 2 * small_peak, (small_peak, large_peak)
    assert time.monotonic() - started < 60
