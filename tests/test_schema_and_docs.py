import pytest
from django.core.management import call_command


def test_openapi_schema_validates_without_warnings(tmp_path):
    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    text = out.read_text()
    for path in (
        "/api/v1/orgs/",
        "/api/v1/orgs/{org_slug}/",
        "/api/v1/orgs/{org_slug}/members/{id}/",
    ):
        assert f"{path}:" in text


@pytest.mark.django_db
def test_schema_and_swagger_ui_are_served_without_a_cdn(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert schema.json()["info"]["title"] == "agentry API"
    docs = api_client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html
    assert "cdn.jsdelivr" not in html


@pytest.mark.django_db
def test_api_root_links_the_entry_points(api_client):
    body = api_client.get("/api/v1/").json()
    assert body["organizations"].endswith("/api/v1/orgs/")
    assert body["docs"].endswith("/api/docs/")
