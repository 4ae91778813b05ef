"""Malformed or hostile input to the audit log's API is a 4xx naming the field, never a 500.

Each case goes through the real API. Some only failed on PostgreSQL (jsonb and
text columns refuse NUL), so run these on both databases.
"""

import base64
from urllib.parse import urlencode

import pytest

from apps.audit.api.filters import AuditEntryFilter
from apps.audit.chain import append, verify_chain
from apps.audit.context import normalized_ip
from apps.audit.events import AUDIT_LOG_EXPORTED
from apps.audit.models import AuditEntry

from .conftest import api_caller

pytestmark = pytest.mark.django_db

ORG = "/api/v1/orgs/acme"
LOGS = f"{ORG}/audit-logs/"
EXPORT = f"{LOGS}export/"
PAGE_SIZE_MESSAGE = "A whole number from 1 to 200."


def add_events(organization, count: int) -> None:
    append(
        [
            AuditEntry(event="backup.completed", action=3, organization_id=organization.pk)
            for _ in range(count)
        ]
    )


def error_of(response, status: int) -> dict:
    assert not response.streaming, f"a {response.status_code} stream, not a JSON error"
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    return response.json()["error"]


def cursor_of(querystring: str) -> str:
    return base64.b64encode(querystring.encode()).decode()


@pytest.fixture
def owner_caller(owner):
    return api_caller(owner.user)


# --- the client IP from a trusted proxy -------------------------------------------------

LONG_MAPPED_IPV6 = "0000:0000:0000:0000:0000:ffff:192.168.100.100"


@pytest.fixture
def behind_proxy(settings):
    settings.TRUSTED_PROXIES = ["127.0.0.1"]


@pytest.mark.parametrize("url", ["/api/v1/orgs/", LOGS, "/api/schema/"])
def test_a_long_form_ipv6_forwarded_by_a_trusted_proxy_is_no_500(behind_proxy, owner, url):
    client = api_caller(owner.user, ip="127.0.0.1", HTTP_X_FORWARDED_FOR=LONG_MAPPED_IPV6)

    response = client.get(url)

    assert response.status_code < 500, response.content


def test_a_long_form_ipv6_is_recorded_in_its_short_form_and_the_chain_verifies(
    behind_proxy, owner, organization
):
    client = api_caller(
        owner.user,
        ip="127.0.0.1",
        request_id="long-ipv6",
        HTTP_X_FORWARDED_FOR=f"198.51.100.1, {LONG_MAPPED_IPV6}",
    )

    response = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}, format="json")

    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(cid="long-ipv6", resource_type="agents.agent")
    assert entry.remote_addr == "::ffff:192.168.100.100"
    assert verify_chain(organization.pk) == (
        AuditEntry.objects.filter(organization=organization).count(),
        None,
    )


@pytest.mark.parametrize(
    ("raw", "stored"),
    [
        (None, ""),
        ("", ""),
        ("203.0.113.7", "203.0.113.7"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:0db8:0000:0000:0000:0000:0000:0001", "2001:db8::1"),
        (LONG_MAPPED_IPV6, "::ffff:192.168.100.100"),
        ("::ffff:192.168.100.100", "::ffff:192.168.100.100"),
        ("fe80::1%eth0", "fe80::1"),
        ("unix:/run/gunicorn.sock", "unix:/run/gunicorn.sock"),
        ("1:2:3", "1:2:3"),
        ("::" + "f" * 60, ("::" + "f" * 60)[:45]),
        ("10.0.0.1\x00\x1f", "10.0.0.1"),
    ],
)
def test_normalized_ip_never_raises_and_fits_the_column(raw, stored):
    assert normalized_ip(raw) == stored
    assert len(normalized_ip(raw)) <= AuditEntry._meta.get_field("remote_addr").max_length


# --- what an export records of its query --------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "foo=%00",
        "%00=1",
        "page_size=%00",
        "cursor=%00",
        "foo=%01bar&%7F=%1B",
        "format=jsonl&unknown=" + "x" * 5000,
    ],
)
def test_an_export_ignores_and_does_not_record_unknown_parameters(
    owner_caller, organization, query
):
    response = owner_caller.get(f"{EXPORT}?{query}")

    assert response.status_code == 200, response.content
    b"".join(response.streaming_content)
    exported = AuditEntry.objects.get(organization=organization, event=AUDIT_LOG_EXPORTED)
    assert exported.additional_data["filters"] == {}


def test_an_export_records_only_its_filters_without_control_characters_and_capped(
    owner_caller, organization
):
    query = {
        "format": "jsonl",
        "resource_type": "agents.\x01agent\x7f",
        "object_id": "x" * 255,
        "action": "update",
        "ordering": "seq",
    }

    response = owner_caller.get(EXPORT, query)

    assert response.status_code == 200, response.content
    exported = AuditEntry.objects.get(organization=organization, event=AUDIT_LOG_EXPORTED)
    assert exported.additional_data == {
        "format": "jsonl",
        "filters": {"resource_type": "agents.agent", "object_id": "x" * 200, "action": "update"},
    }
    assert set(exported.additional_data["filters"]) <= set(AuditEntryFilter.base_filters)


@pytest.mark.parametrize("name", ["actor", "resource_type", "object_id", "request_id", "action"])
@pytest.mark.parametrize("url", [LOGS, EXPORT])
def test_a_nul_in_a_filter_is_a_400_naming_it(owner_caller, organization, name, url):
    response = owner_caller.get(f"{url}?{name}=a%00b")

    assert name in error_of(response, 400)["details"]
    assert not AuditEntry.objects.filter(event=AUDIT_LOG_EXPORTED).exists()


# --- cursors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cursor",
    [
        cursor_of("p=xxx"),
        cursor_of("p=1.5"),
        cursor_of("p=1e999"),
        cursor_of("p=-3"),
        cursor_of("p=99999999999999999999999999"),
        cursor_of("p=" + "9" * 5000),
        cursor_of("p=%00"),
        cursor_of("o=xxx"),
        cursor_of("o=-1"),
        cursor_of("o=1e3"),
        cursor_of("r=xxx"),
        cursor_of("r=2"),
        "%00",
        "not base64!",
        "w6k=",  # "é": not ASCII
    ],
)
def test_a_crafted_cursor_is_a_400_on_cursor(owner_caller, organization, cursor):
    add_events(organization, 3)

    response = owner_caller.get(f"{LOGS}?cursor={cursor}")

    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert error["details"] == {"cursor": ["Invalid cursor."]}


def test_the_cursors_the_api_hands_out_still_work_both_ways(owner_caller, organization):
    add_events(organization, 5)

    first = owner_caller.get(LOGS, {"page_size": 2}).json()
    second = owner_caller.get(first["next"]).json()
    back = owner_caller.get(second["previous"]).json()

    assert [entry["id"] for entry in back["results"]] == [entry["id"] for entry in first["results"]]
    assert owner_caller.get(LOGS, {"cursor": ""}).status_code == 200


# --- page sizes and page numbers -----------------------------------------------------------

BAD_PAGE_SIZES = ["0", "-1", "abc", "1e3", "\x00", "1.5", "+5", " 5", "٣", "10000", "201"]


@pytest.mark.parametrize("page_size", BAD_PAGE_SIZES)
def test_a_bad_page_size_of_the_audit_log_is_a_400(owner_caller, organization, page_size):
    response = owner_caller.get(f"{LOGS}?{urlencode({'page_size': page_size})}")

    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert error["details"] == {"page_size": [PAGE_SIZE_MESSAGE]}


@pytest.mark.parametrize("page_size", BAD_PAGE_SIZES)
def test_a_bad_page_size_of_a_numbered_list_is_a_400(owner_caller, page_size):
    response = owner_caller.get(f"/api/v1/orgs/?{urlencode({'page_size': page_size})}")

    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert error["details"] == {"page_size": [PAGE_SIZE_MESSAGE]}


@pytest.mark.parametrize(("page_size", "count"), [("1", 1), ("200", 60), ("0200", 60), ("", 50)])
def test_a_page_size_from_1_to_200_is_taken(owner_caller, organization, page_size, count):
    add_events(organization, 60 - AuditEntry.objects.filter(organization=organization).count())

    response = owner_caller.get(LOGS, {"page_size": page_size})

    assert response.status_code == 200, response.content
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("page_size", ["1", "200", "0200", ""])
def test_a_page_size_from_1_to_200_of_a_numbered_list_is_taken(owner_caller, page_size):
    response = owner_caller.get("/api/v1/orgs/", {"page_size": page_size})

    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


@pytest.mark.parametrize("page", ["0", "-1", "abc", "1.0", "1e3", "\x00", "+1", "٣"])
def test_a_bad_page_number_is_a_400(owner_caller, page):
    response = owner_caller.get(f"/api/v1/orgs/?{urlencode({'page': page})}")

    error = error_of(response, 400)
    assert error["code"] == "validation_error"
    assert list(error["details"]) == ["page"]


def test_bad_page_and_page_size_are_reported_together(owner_caller):
    response = owner_caller.get("/api/v1/orgs/", {"page": "x", "page_size": "y"})

    assert set(error_of(response, 400)["details"]) == {"page", "page_size"}


@pytest.mark.parametrize("page", ["2", "99", "9" * 30, "9" * 5000])
def test_a_page_past_the_end_is_a_404_in_the_envelope(owner_caller, page):
    response = owner_caller.get("/api/v1/orgs/", {"page": page})

    error = error_of(response, 404)
    assert error["code"] == "not_found"
    assert error["message"] == "Invalid page."


@pytest.mark.parametrize("page", ["1", "01", "last", ""])
def test_the_first_and_the_last_page_are_found(owner_caller, page):
    response = owner_caller.get("/api/v1/orgs/", {"page": page})

    assert response.status_code == 200, response.content
    assert [org["slug"] for org in response.json()["results"]] == ["acme"]


# --- time ranges and long values ------------------------------------------------------------


@pytest.mark.parametrize("url", [LOGS, EXPORT])
def test_a_timezone_less_instant_is_read_as_utc(owner_caller, organization, url):
    add_events(organization, 1)

    response = owner_caller.get(url, {"since": "2000-01-01T00:00:00", "until": "2999-01-01"})

    assert response.status_code == 200, response.content


@pytest.mark.parametrize(
    "value",
    [
        "99999-01-01T00:00:00Z",
        "2024-02-30T00:00:00Z",
        "2024-01-01T25:00:00Z",
        "9999-12-31T23:59:59-05:00",
        "0001-01-01T00:00:00+05:00",
        "now",
        "\x00",
    ],
)
@pytest.mark.parametrize("name", ["since", "until"])
@pytest.mark.parametrize("url", [LOGS, EXPORT])
def test_an_impossible_instant_is_a_400_naming_it(owner_caller, organization, url, name, value):
    response = owner_caller.get(url, {name: value})

    assert name in error_of(response, 400)["details"]


def test_the_largest_and_smallest_utc_instants_are_taken(owner_caller, organization):
    add_events(organization, 1)

    response = owner_caller.get(
        LOGS, {"since": "0001-01-01T00:00:00Z", "until": "9999-12-31T23:59:59Z"}
    )

    assert response.status_code == 200, response.content
    entries = AuditEntry.objects.filter(organization=organization)
    assert len(response.json()["results"]) == entries.count()


@pytest.mark.parametrize("url", [LOGS, EXPORT])
def test_a_10000_character_resource_type_is_a_400(owner_caller, url):
    response = owner_caller.get(url, {"resource_type": "a" * 10_000})

    assert "resource_type" in error_of(response, 400)["details"]


def test_an_actor_that_is_not_a_uuid_is_a_400(owner_caller):
    response = owner_caller.get(LOGS, {"actor": "\x00"})

    assert "actor" in error_of(response, 400)["details"]


# --- formats -----------------------------------------------------------------------------------


def test_an_export_asked_for_as_html_is_a_json_406(owner_caller, organization):
    response = owner_caller.get(EXPORT, HTTP_ACCEPT="text/html")

    assert error_of(response, 406)["code"] == "not_acceptable"
    assert not AuditEntry.objects.filter(event=AUDIT_LOG_EXPORTED).exists()


def test_a_browser_accept_header_gets_the_csv(owner_caller, organization):
    response = owner_caller.get(
        EXPORT, HTTP_ACCEPT="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    )

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")


@pytest.mark.parametrize("file_format", ["api", "json", "%00"])
def test_an_export_in_a_format_it_has_not_is_a_400_on_format(owner_caller, file_format):
    response = owner_caller.get(f"{EXPORT}?format={file_format}")

    assert "format" in error_of(response, 400)["details"]
    assert not AuditEntry.objects.filter(event=AUDIT_LOG_EXPORTED).exists()


def test_an_instant_without_an_offset_is_utc_whatever_the_time_zone(
    owner_caller, organization, settings
):
    from datetime import UTC, datetime, timedelta

    settings.TIME_ZONE = "America/New_York"
    add_events(organization, 1)
    an_hour_ago = (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None)

    response = owner_caller.get(LOGS, {"since": an_hour_ago.isoformat()})

    assert response.status_code == 200, response.content
    assert response.json()["results"]


def test_a_user_agent_with_control_characters_is_stored_without_them(owner_client, organization):
    response = owner_client.post(
        f"/api/v1/orgs/{organization.slug}/agents/",
        {"name": "UA probe", "model_name": "m"},
        format="json",
        HTTP_USER_AGENT="evil\x00agent\x1b[31m/1.0",
    )

    assert response.status_code == 201, response.content
    entry = AuditEntry.objects.get(object_pk=response.json()["id"])
    assert entry.user_agent == "evilagent[31m/1.0"


@pytest.mark.parametrize("value", ["%", "%s", "%d", "%(x)s", "create,%"])
def test_a_percent_sign_in_action_is_a_field_error(owner_client, organization, value):
    for path in ("", "export/"):
        response = owner_client.get(
            f"/api/v1/orgs/{organization.slug}/audit-logs/{path}", {"action": value}
        )

        assert response.status_code == 400, response.content
        assert "Unknown: " in response.json()["error"]["details"]["action"][0]
