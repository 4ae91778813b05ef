import json

import pytest

from apps.organizations.models import BuiltinRole
from apps.tools.models import Tool
from apps.tools.validators import MAX_JSON_BYTES

from ..factories import OrganizationFactory
from .factories import ToolFactory

pytestmark = pytest.mark.django_db

SECRET = "sk-live-very-secret-token"
SEARCH_SCHEMA = {
    "type": "object",
    "properties": {"query": {"type": "string", "minLength": 1}},
    "required": ["query"],
}


def tools_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/tools/"


def tool_url(tool, slug="acme"):
    return f"{tools_url(slug)}{tool.pk}/"


def new_tool_payload(**overrides):
    return {
        "name": "web_search",
        "kind": "http",
        "description": "Search the web.",
        "parameters_schema": SEARCH_SCHEMA,
        "configuration": {"url": "https://search.example.com/api", "method": "GET"},
        "credentials": {"api_key": SECRET},
        **overrides,
    }


@pytest.fixture
def editor_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.EDITOR).user)


@pytest.fixture
def viewer_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.VIEWER).user)


def test_editor_creates_a_tool_and_its_credentials_are_stored_not_returned(
    editor_client, organization
):
    response = editor_client.post(tools_url(), new_tool_payload(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "web_search"
    assert body["kind"] == "http"
    assert body["parameters_schema"] == SEARCH_SCHEMA
    assert body["configuration"]["url"] == "https://search.example.com/api"
    assert body["has_credentials"] is True
    assert "credentials" not in body
    assert SECRET not in response.content.decode()
    tool = Tool.objects.get(pk=body["id"])
    assert tool.organization == organization
    assert tool.credentials == {"api_key": SECRET}
    assert str(tool.created_by_id) == body["created_by"]


def test_a_tool_without_parameters_takes_an_empty_object(editor_client):
    response = editor_client.post(tools_url(), {"name": "now", "kind": "function"}, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["parameters_schema"] == {"type": "object", "properties": {}}
    assert body["configuration"] == {}
    assert body["has_credentials"] is False


def test_list_filters_by_kind_and_name_and_orders(viewer_client, organization, other_organization):
    ToolFactory(organization=organization, name="Alpha_search", kind=Tool.Kind.HTTP)
    ToolFactory(organization=organization, name="beta", kind=Tool.Kind.CODE)
    ToolFactory(organization=organization, name="gamma_SEARCH", kind=Tool.Kind.HTTP)
    ToolFactory(organization=other_organization, name="foreign_search", kind=Tool.Kind.HTTP)

    listed = viewer_client.get(tools_url()).json()
    assert listed["count"] == 3
    assert [t["name"] for t in listed["results"]] == ["Alpha_search", "beta", "gamma_SEARCH"]

    http = viewer_client.get(tools_url(), {"kind": "http"}).json()["results"]
    assert {t["name"] for t in http} == {"Alpha_search", "gamma_SEARCH"}
    by_name = viewer_client.get(tools_url(), {"name": "search", "ordering": "-name"}).json()
    assert [t["name"] for t in by_name["results"]] == ["gamma_SEARCH", "Alpha_search"]
    by_kind = viewer_client.get(tools_url(), {"ordering": "kind,name"}).json()["results"]
    assert [t["kind"] for t in by_kind] == ["code", "http", "http"]
    newest = viewer_client.get(tools_url(), {"ordering": "-created_at"}).json()["results"]
    assert newest[0]["name"] == "gamma_SEARCH"


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"kind": "telepathy"}, "kind", "not one of the available choices"),
        ({"ordering": "credentials"}, "ordering", "Cannot order by credentials"),
    ],
)
def test_list_refuses_unknown_filters_and_orderings(viewer_client, params, field, message):
    response = viewer_client.get(tools_url(), params)
    assert response.status_code == 400
    assert message in " ".join(response.json()["error"]["details"][field])


def test_retrieve_shows_the_tool_without_credentials(viewer_client, organization):
    tool = ToolFactory(organization=organization, credentials={"token": SECRET})
    response = viewer_client.get(tool_url(tool))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(tool.pk)
    assert body["has_credentials"] is True
    assert "credentials" not in body
    assert SECRET not in response.content.decode()


def test_credentials_never_appear_in_any_response(editor_client, organization):
    created = editor_client.post(tools_url(), new_tool_payload(), format="json")
    tool_id = created.json()["id"]
    url = f"{tools_url()}{tool_id}/"
    responses = [
        created,
        editor_client.get(url),
        editor_client.get(tools_url()),
        editor_client.patch(url, {"credentials": {"api_key": SECRET + "-2"}}, format="json"),
        editor_client.put(url, new_tool_payload(description="Replaced."), format="json"),
        editor_client.get(url, HTTP_ACCEPT="text/html"),  # the browsable API too
    ]
    for response in responses:
        assert response.status_code in (200, 201), response.content
        assert SECRET not in response.content.decode()
    assert Tool.objects.get(pk=tool_id).credentials == {"api_key": SECRET}


def test_update_without_credentials_keeps_them_and_empty_object_clears_them(
    editor_client, organization
):
    tool = ToolFactory(organization=organization, credentials={"token": SECRET})
    kept = editor_client.patch(tool_url(tool), {"description": "Changed."}, format="json")
    assert kept.status_code == 200
    assert kept.json()["has_credentials"] is True
    tool.refresh_from_db()
    assert tool.description == "Changed."
    assert tool.credentials == {"token": SECRET}

    put = editor_client.put(
        tool_url(tool),
        {"name": tool.name, "kind": "code", "parameters_schema": SEARCH_SCHEMA},
        format="json",
    )
    assert put.status_code == 200, put.json()
    tool.refresh_from_db()
    assert tool.kind == "code"
    assert tool.credentials == {"token": SECRET}

    replaced = editor_client.patch(tool_url(tool), {"credentials": {"t": "new"}}, format="json")
    assert replaced.json()["has_credentials"] is True
    tool.refresh_from_db()
    assert tool.credentials == {"t": "new"}

    cleared = editor_client.patch(tool_url(tool), {"credentials": {}}, format="json")
    assert cleared.status_code == 200
    assert cleared.json()["has_credentials"] is False
    tool.refresh_from_db()
    assert tool.credentials == {}


def test_editor_deletes_a_tool(editor_client, organization):
    from apps.agents.models import Agent

    tool = ToolFactory(organization=organization)
    agent = Agent.objects.create(organization=organization, name="A", model_name="m")
    agent.tools.add(tool)
    response = editor_client.delete(tool_url(tool))
    assert response.status_code == 204
    assert not Tool.objects.filter(pk=tool.pk).exists()
    assert list(agent.tools.all()) == []


BIG_OBJECT = {"blob": "x" * MAX_JSON_BYTES}


def nested_schema(levels):
    """An object schema with an object property nested `levels` times (2 JSON levels each)."""
    schema = {"type": "string"}
    for _ in range(levels):
        schema = {"type": "object", "properties": {"inner": schema}}
    return schema


def nested_object(depth):
    value = 1
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"parameters_schema": {"type": "objekt"}}, "parameters_schema", "Not a valid JSON Schema"),
        (
            {"parameters_schema": {"type": "object", "properties": {"q": {"type": 5}}}},
            "parameters_schema",
            "at 'properties/q/type'",
        ),
        (
            {"parameters_schema": {"type": "object", "required": "q"}},
            "parameters_schema",
            "is not of type 'array'",
        ),
        ({"parameters_schema": {"type": "string"}}, "parameters_schema", "must be an object"),
        ({"parameters_schema": {}}, "parameters_schema", "must be an object schema"),
        ({"parameters_schema": [1, 2]}, "parameters_schema", "got an array"),
        ({"parameters_schema": "object"}, "parameters_schema", "got a string"),
        ({"parameters_schema": None}, "parameters_schema", "may not be null"),
        ({"configuration": ["a"]}, "configuration", "Must be a JSON object, got an array"),
        ({"configuration": 3}, "configuration", "got a number"),
        ({"configuration": BIG_OBJECT}, "configuration", f"at most {MAX_JSON_BYTES} bytes"),
        ({"credentials": "hunter2"}, "credentials", "Must be a JSON object, got a string"),
        ({"credentials": None}, "credentials", "may not be null"),
        ({"configuration": nested_object(65)}, "configuration", "at most 64 levels deep"),
        ({"credentials": nested_object(90)}, "credentials", "at most 64 levels deep"),
        ({"parameters_schema": nested_schema(40)}, "parameters_schema", "at most 64 levels"),
        ({"credentials": BIG_OBJECT}, "credentials", f"at most {MAX_JSON_BYTES} bytes"),
        ({"name": "web search"}, "name", "letters, digits, underscores and hyphens"),
        ({"name": "x" * 65}, "name", "no more than 64 characters"),
        ({"name": ""}, "name", "may not be blank"),
        ({"kind": "telepathy"}, "kind", "Choose from: http, function, retrieval, code"),
        ({"description": "d" * 4001}, "description", "no more than 4000 characters"),
    ],
)
def test_create_rejects_bad_input(editor_client, overrides, field, message):
    response = editor_client.post(tools_url(), new_tool_payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in " ".join(error["details"][field])
    assert not Tool.objects.exists()


def test_a_deeply_nested_schema_within_the_limit_is_accepted(editor_client):
    schema = nested_schema(31)  # 63 levels of objects
    response = editor_client.post(
        tools_url(), new_tool_payload(parameters_schema=schema), format="json"
    )
    assert response.status_code == 201, response.content
    assert response.json()["parameters_schema"] == schema


@pytest.mark.parametrize("missing", ["name", "kind"])
def test_create_requires_name_and_kind(editor_client, missing):
    payload = new_tool_payload()
    del payload[missing]
    response = editor_client.post(tools_url(), payload, format="json")
    assert response.status_code == 400
    assert "required" in response.json()["error"]["details"][missing][0]


def test_a_bad_update_changes_nothing(editor_client, organization):
    tool = ToolFactory(organization=organization, credentials={"token": SECRET})
    response = editor_client.patch(
        tool_url(tool),
        {"description": "New", "credentials": {}, "parameters_schema": {"type": "array"}},
        format="json",
    )
    assert response.status_code == 400
    assert "parameters_schema" in response.json()["error"]["details"]
    tool.refresh_from_db()
    assert tool.description == ""
    assert tool.credentials == {"token": SECRET}


def test_tool_names_are_unique_per_organization(editor_client, organization, other_organization):
    ToolFactory(organization=organization, name="web_search")
    ToolFactory(organization=other_organization, name="lookup")
    taken = editor_client.post(tools_url(), new_tool_payload(), format="json")
    assert taken.status_code == 400
    assert taken.json()["error"]["details"]["name"] == [
        "A tool with this name already exists in this organization."
    ]
    assert Tool.objects.filter(organization=organization).count() == 1
    # A name used by another organization is free here.
    free = editor_client.post(tools_url(), new_tool_payload(name="lookup"), format="json")
    assert free.status_code == 201


def test_renaming_onto_a_taken_name_is_refused(editor_client, organization):
    ToolFactory(organization=organization, name="first")
    second = ToolFactory(organization=organization, name="second")
    response = editor_client.patch(tool_url(second), {"name": "first"}, format="json")
    assert response.status_code == 400
    assert "already exists" in response.json()["error"]["details"]["name"][0]
    second.refresh_from_db()
    assert second.name == "second"
    # Saving a tool under its own name is not a clash.
    same = editor_client.patch(tool_url(second), {"name": "second"}, format="json")
    assert same.status_code == 200


def test_viewer_can_read_but_not_write(viewer_client, organization):
    tool = ToolFactory(organization=organization, name="keep")
    assert viewer_client.get(tools_url()).status_code == 200
    assert viewer_client.get(tool_url(tool)).status_code == 200
    attempts = [
        viewer_client.post(tools_url(), new_tool_payload(), format="json"),
        viewer_client.put(tool_url(tool), new_tool_payload(), format="json"),
        viewer_client.patch(tool_url(tool), {"name": "changed"}, format="json"),
        viewer_client.delete(tool_url(tool)),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    tool.refresh_from_db()
    assert tool.name == "keep"
    assert Tool.objects.count() == 1


def test_anonymous_and_non_members_are_kept_out(api_client, client_for, member_of, organization):
    tool = ToolFactory(organization=organization)
    assert api_client.get(tools_url()).status_code in (401, 403)
    outsider = member_of(OrganizationFactory(), BuiltinRole.OWNER).user
    assert client_for(outsider).get(tools_url()).status_code == 404
    assert client_for(outsider).get(tool_url(tool)).status_code == 404


def test_another_organizations_tool_is_not_found(owner_client, other_organization):
    foreign = ToolFactory(organization=other_organization)
    for method in ("get", "put", "patch", "delete"):
        response = getattr(owner_client, method)(
            tool_url(foreign), new_tool_payload(name="stolen"), format="json"
        )
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.name != "stolen"


def test_a_malformed_id_in_the_url_is_not_found(owner_client):
    assert owner_client.get(f"{tools_url()}not-a-uuid/").status_code == 404


@pytest.mark.parametrize("rows", [5, 50])
def test_tool_list_queries_are_constant(
    owner_client, organization, rows, django_assert_max_num_queries
):
    ToolFactory.create_batch(rows, organization=organization, credentials={"k": SECRET})
    with django_assert_max_num_queries(4):
        response = owner_client.get(tools_url(), {"page_size": 200})
    assert len(response.json()["results"]) == rows
    assert SECRET not in response.content.decode()


def test_tool_create_service_refuses_a_bad_schema(organization):
    from django.core.exceptions import ValidationError

    from apps.tools.services import tool_create

    with pytest.raises(ValidationError) as refused:
        tool_create(
            organization=organization,
            created_by=None,
            name="x",
            kind="function",
            parameters_schema={"type": "array"},
        )
    assert "parameters_schema" in refused.value.message_dict
    assert not Tool.objects.exists()


def test_tool_create_service_stores_credentials(organization):
    from apps.tools.services import tool_create

    tool = tool_create(
        organization=organization,
        created_by=None,
        name="x",
        kind="http",
        credentials={"token": SECRET},
    )
    assert tool.has_credentials
    assert json.loads(json.dumps(tool.parameters_schema))["type"] == "object"
