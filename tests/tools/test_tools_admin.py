import json

import pytest

from apps.accounts.models import User
from apps.tools.models import Tool

from .factories import ToolFactory

pytestmark = pytest.mark.django_db

SECRET = "sk-admin-must-never-see-this"


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("root@example.com", "pw-for-tests-only"))
    return client


def test_admin_pages_never_show_credentials(staff_client, organization):
    tool = ToolFactory(organization=organization, name="lookup", credentials={"key": SECRET})
    for url in (
        "/admin/tools/tool/",
        "/admin/tools/tool/add/",
        f"/admin/tools/tool/{tool.pk}/change/",
        f"/admin/tools/tool/{tool.pk}/history/",
        f"/admin/tools/tool/{tool.pk}/delete/",
    ):
        response = staff_client.get(url)
        assert response.status_code == 200, url
        html = response.content.decode()
        assert SECRET not in html, url
        assert 'name="credentials"' not in html, url


def test_admin_shows_whether_a_tool_has_credentials(staff_client, organization):
    tool = ToolFactory(organization=organization, credentials={"key": SECRET})
    html = staff_client.get(f"/admin/tools/tool/{tool.pk}/change/").content.decode()
    assert "Has credentials" in html
    assert "icon-yes.svg" in html


def test_saving_in_the_admin_keeps_credentials_and_checks_the_schema(staff_client, organization):
    tool = ToolFactory(organization=organization, name="lookup", credentials={"key": SECRET})
    form = {
        "organization": str(organization.pk),
        "name": "lookup",
        "kind": "http",
        "description": "Edited in the admin.",
        "parameters_schema": json.dumps({"type": "object", "properties": {}}),
        "configuration": json.dumps({"url": "https://example.com"}),
        "created_by": "",
    }
    url = f"/admin/tools/tool/{tool.pk}/change/"
    saved = staff_client.post(url, form)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    tool.refresh_from_db()
    assert tool.description == "Edited in the admin."
    assert tool.credentials == {"key": SECRET}

    refused = staff_client.post(url, {**form, "parameters_schema": json.dumps({"type": "x"})})
    assert refused.status_code == 200
    assert "Not a valid JSON Schema" in refused.content.decode()
    assert Tool.objects.get(pk=tool.pk).parameters_schema == {"type": "object", "properties": {}}


@pytest.mark.parametrize(
    "query",
    ["credentials__icontains=sk-admin", "credentials__key__startswith=sk", "credentials=x"],
)
def test_admin_refuses_filters_that_would_probe_credentials(staff_client, organization, query):
    ToolFactory(organization=organization, name="lookup", credentials={"key": SECRET})
    response = staff_client.get(f"/admin/tools/tool/?{query}")
    # A disallowed lookup is refused outright (SuspiciousOperation), never used to filter.
    assert response.status_code == 400
    assert b"lookup" not in response.content


def test_admin_cannot_move_a_tool_to_another_organization(
    staff_client, organization, other_organization
):
    tool = ToolFactory(organization=organization, name="lookup")
    page = staff_client.get(f"/admin/tools/tool/{tool.pk}/change/").content.decode()
    assert 'name="organization"' not in page
