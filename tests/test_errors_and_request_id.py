"""Every API error has one JSON shape, and every response carries X-Request-ID."""

import pytest
from django.test import Client, override_settings
from rest_framework.test import APIClient

from apps.organizations import services

pytestmark = pytest.mark.django_db


def assert_envelope(response, status, code):
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "details", "request_id"}
    assert error["code"] == code
    assert error["message"]
    assert isinstance(error["details"], dict)
    assert error["request_id"] == response["X-Request-ID"]
    return error


def test_sane_request_id_is_echoed(owner_client):
    response = owner_client.get("/api/v1/orgs/", HTTP_X_REQUEST_ID="abc.DEF_123-xyz")
    assert response["X-Request-ID"] == "abc.DEF_123-xyz"


@pytest.mark.parametrize(
    "hostile",
    ["x" * 65, "has space", "semi;colon", "<script>", "new\u00e9", ""],
)
def test_insane_request_id_is_replaced(owner_client, hostile):
    response = owner_client.get("/api/v1/orgs/", HTTP_X_REQUEST_ID=hostile)
    generated = response["X-Request-ID"]
    assert generated != hostile
    assert len(generated) == 32
    assert generated.isalnum()


def test_every_response_gets_a_request_id(api_client):
    assert api_client.get("/api/v1/")["X-Request-ID"]
    assert api_client.get("/api/v1/nowhere/")["X-Request-ID"]
    assert Client().get("/admin/login/")["X-Request-ID"]


def test_request_id_appears_in_error_body(owner_client):
    response = owner_client.get("/api/v1/orgs/missing/", HTTP_X_REQUEST_ID="trace-42")
    error = assert_envelope(response, 404, "not_found")
    assert error["request_id"] == "trace-42"


def test_unknown_api_url_is_a_json_404(api_client):
    assert_envelope(api_client.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_unknown_page_outside_api_is_not_json():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")


def test_malformed_json_is_a_parse_error(owner_client):
    response = owner_client.post(
        "/api/v1/orgs/", data='{"name": "broken', content_type="application/json"
    )
    error = assert_envelope(response, 400, "parse_error")
    assert "JSON" in error["message"]


def test_json_that_is_not_an_object_is_refused(owner_client):
    response = owner_client.post("/api/v1/orgs/", data="[1, 2]", content_type="application/json")
    error = assert_envelope(response, 400, "validation_error")
    assert error["details"]["non_field_errors"]


def test_unsupported_media_type(owner_client):
    response = owner_client.post("/api/v1/orgs/", data="name=x", content_type="text/plain")
    assert_envelope(response, 415, "unsupported_media_type")


def test_method_not_allowed(owner_client):
    response = owner_client.post("/api/v1/me/", {})
    assert_envelope(response, 405, "method_not_allowed")


def test_field_errors_are_in_details(owner_client):
    response = owner_client.post("/api/v1/orgs/", {"name": ""})
    error = assert_envelope(response, 400, "validation_error")
    assert error["details"] == {"name": ["This field may not be blank."]}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1024)
def test_oversized_body_is_413(owner_client):
    response = owner_client.post(
        "/api/v1/orgs/", data='{"name": "%s"}' % ("x" * 4096), content_type="application/json"
    )
    assert_envelope(response, 413, "payload_too_large")


def test_not_authenticated_uses_the_envelope(api_client):
    assert_envelope(api_client.get("/api/v1/orgs/"), 401, "not_authenticated")


@pytest.fixture
def tolerant_owner_client(owner):
    """A client that returns 500 responses instead of re-raising the view's exception."""
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(owner.user)
    return client


def test_unexpected_exception_is_a_generic_500_without_traceback(
    tolerant_owner_client, monkeypatch, caplog
):
    owner_client = tolerant_owner_client

    def explode(**kwargs):
        raise RuntimeError("database password is hunter2")

    monkeypatch.setattr(services, "organization_create", explode)
    response = owner_client.post("/api/v1/orgs/", {"name": "Boom"})
    error = assert_envelope(response, 500, "server_error")
    assert "hunter2" not in response.content.decode()
    assert "Traceback" not in response.content.decode()
    assert error["details"] == {}
    # ...but the operator gets the traceback in the log.
    assert any(
        record.exc_info and "hunter2" in str(record.exc_info[1]) for record in caplog.records
    )


@override_settings(DEBUG=True)
def test_server_error_stays_generic_even_with_debug(tolerant_owner_client, monkeypatch):
    owner_client = tolerant_owner_client
    monkeypatch.setattr(services, "organization_create", lambda **kw: 1 / 0)
    response = owner_client.post("/api/v1/orgs/", {"name": "Boom"})
    assert_envelope(response, 500, "server_error")
    assert "ZeroDivisionError" not in response.content.decode()


def test_django_handlers_answer_api_paths_with_the_envelope(rf):
    from django.core.exceptions import PermissionDenied, SuspiciousOperation

    from apps.core import views

    request = rf.get("/api/v1/anything/")
    for handler, args, status, code in (
        (views.bad_request, (SuspiciousOperation(),), 400, "bad_request"),
        (views.permission_denied, (PermissionDenied(),), 403, "permission_denied"),
        (views.page_not_found, (Exception(),), 404, "not_found"),
        (views.server_error, (), 500, "server_error"),
    ):
        response = handler(request, *args)
        assert response.status_code == status
        assert b'"code": "%s"' % code.encode() in response.content
    html = views.server_error(rf.get("/somewhere/"))
    assert html.status_code == 500
    assert not html["Content-Type"].startswith("application/json")


def test_disallowed_host_is_a_json_400_for_api(db):
    response = Client().get("/api/v1/", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_deeply_nested_json_is_a_parse_error_not_a_500(owner_client):
    body = "[" * 100_000 + "]" * 100_000
    response = owner_client.post("/api/v1/orgs/", data=body, content_type="application/json")
    error = assert_envelope(response, 400, "parse_error")
    assert "nested too deeply" in error["message"]


@pytest.mark.parametrize("depth", [101, 900])
def test_json_nested_beyond_the_limit_is_refused(owner_client, depth):
    body = '{"name": "x", "extra": ' + "[" * depth + "]" * depth + "}"
    response = owner_client.post("/api/v1/orgs/", data=body, content_type="application/json")
    error = assert_envelope(response, 400, "parse_error")
    assert "nested" in error["message"]


def test_json_within_the_depth_limit_is_accepted(owner_client):
    body = '{"name": "Deep Enough", "extra": ' + "[" * 98 + "]" * 98 + "}"
    response = owner_client.post("/api/v1/orgs/", data=body, content_type="application/json")
    assert response.status_code == 201


@pytest.mark.parametrize(
    "body",
    [
        '{"name": "nul \\u0000 inside"}',
        '{"name": "x", "extra": {"k\\u0000": 1}}',
        '{"name": "x", "extra": ["\\ud800"]}',
    ],
)
def test_json_with_nul_or_lone_surrogates_is_refused(owner_client, body):
    response = owner_client.post("/api/v1/orgs/", data=body, content_type="application/json")
    error = assert_envelope(response, 400, "parse_error")
    assert "NUL" in error["message"]


def test_json_with_paired_surrogates_is_fine(owner_client):
    body = '{"name": "emoji \\ud83d\\ude00"}'
    response = owner_client.post("/api/v1/orgs/", data=body, content_type="application/json")
    assert response.status_code == 201
    assert response.json()["name"] == "emoji \U0001f600"


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/orgs/%00/",
        "/api/v1/orgs/a%00b/members/",
        "/api/v1/orgs/acme/agents/123/",
        "/api/v1/orgs/acme/conversations/zzz/messages/",
        "/api/v1/nope/",
    ],
)
@pytest.mark.parametrize("debug", [True, False])
def test_unmatched_api_paths_are_envelope_404s_even_with_debug(owner_client, path, debug):
    with override_settings(DEBUG=debug):
        response = owner_client.get(path)
    assert_envelope(response, 404, "not_found")


def test_options_describes_an_endpoint_to_those_who_may_read_it(
    owner_client, client_for, member_of, other_organization
):
    response = owner_client.options("/api/v1/orgs/acme/members/")
    assert response.status_code == 200
    assert response.json()["name"]
    outsider = client_for(member_of(other_organization, "owner").user)
    assert outsider.options("/api/v1/orgs/acme/members/").status_code == 404


@override_settings(MAX_UPLOAD_BYTES=1024)
def test_an_upload_above_the_server_limit_is_refused_before_it_is_read(owner_client, organization):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from apps.knowledge.models import Document, KnowledgeBase

    knowledge_base = KnowledgeBase.objects.create(organization=organization, name="Docs")
    response = owner_client.post(
        f"/api/v1/orgs/acme/knowledge-bases/{knowledge_base.pk}/documents/",
        {"file": SimpleUploadedFile("big.txt", b"x" * 4096, "text/plain")},
        format="multipart",
    )
    assert_envelope(response, 413, "payload_too_large")
    assert not Document.objects.exists()
