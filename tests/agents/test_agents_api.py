import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from apps.agents import services
from apps.agents.models import Agent
from apps.knowledge.models import KnowledgeBase
from apps.organizations.models import BuiltinRole
from apps.tools.models import Tool

from ..factories import OrganizationFactory
from ..tools.factories import ToolFactory
from .factories import AgentFactory

pytestmark = pytest.mark.django_db


def agents_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/agents/"


def agent_url(agent, slug="acme"):
    return f"{agents_url(slug)}{agent.pk}/"


@pytest.fixture
def editor_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.EDITOR).user)


@pytest.fixture
def viewer_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.VIEWER).user)


@pytest.fixture
def search_tool(organization):
    return ToolFactory(organization=organization, name="search", credentials={"k": "secret-1"})


@pytest.fixture
def calculator(organization):
    return ToolFactory(organization=organization, name="calculator")


@pytest.fixture
def handbook(organization):
    return KnowledgeBase.objects.create(organization=organization, name="Handbook")


@pytest.fixture
def foreign_tool(other_organization):
    return ToolFactory(organization=other_organization, name="their_tool")


@pytest.fixture
def foreign_knowledge_base(other_organization):
    return KnowledgeBase.objects.create(organization=other_organization, name="Their secrets")


def new_agent_payload(**overrides):
    return {
        "name": "Support bot",
        "description": "Answers customers.",
        "model_name": "gpt-4o-mini",
        "system_prompt": "You are helpful.",
        "temperature": 0.7,
        "max_output_tokens": 2048,
        **overrides,
    }


def test_editor_creates_an_agent_with_tools_and_knowledge(
    editor_client, organization, search_tool, calculator, handbook
):
    payload = new_agent_payload(
        tools=[str(search_tool.pk), str(calculator.pk)], knowledge_bases=[str(handbook.pk)]
    )
    response = editor_client.post(agents_url(), payload, format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["name"] == "Support bot"
    assert body["model_name"] == "gpt-4o-mini"
    assert body["temperature"] == 0.7
    assert body["max_output_tokens"] == 2048
    assert body["is_active"] is True
    assert body["tools"] == [str(calculator.pk), str(search_tool.pk)]  # by name
    assert body["knowledge_bases"] == [str(handbook.pk)]
    assert body["tool_summaries"] == [
        {"id": str(calculator.pk), "name": "calculator"},
        {"id": str(search_tool.pk), "name": "search"},
    ]
    assert body["knowledge_base_summaries"] == [{"id": str(handbook.pk), "name": "Handbook"}]
    assert "secret-1" not in response.content.decode()
    agent = Agent.objects.get(pk=body["id"])
    assert agent.organization == organization
    assert agent.temperature == Decimal("0.70")
    assert set(agent.tools.all()) == {search_tool, calculator}
    assert list(agent.knowledge_bases.all()) == [handbook]
    assert str(agent.created_by_id) == body["created_by"]


def test_an_agent_needs_only_a_name_and_a_model(editor_client):
    response = editor_client.post(
        agents_url(), {"name": "Minimal", "model_name": "claude-3-haiku"}, format="json"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["temperature"] == 0.7
    assert body["max_output_tokens"] == 1024
    assert body["tools"] == []
    assert body["knowledge_bases"] == []
    assert body["is_active"] is True


def test_list_filters_and_orders(viewer_client, organization, search_tool, handbook):
    AgentFactory(organization=organization, name="Bravo", tools=[search_tool])
    AgentFactory(
        organization=organization, name="Alpha", model_name="claude", knowledge_bases=[handbook]
    )
    AgentFactory(organization=organization, name="Charlie bravo", is_active=False)
    AgentFactory(organization=OrganizationFactory(), name="Bravo elsewhere")

    def names(**params):
        response = viewer_client.get(agents_url(), params)
        assert response.status_code == 200, response.json()
        return [a["name"] for a in response.json()["results"]]

    assert names() == ["Alpha", "Bravo", "Charlie bravo"]
    assert names(is_active="false") == ["Charlie bravo"]
    assert names(model_name="claude") == ["Alpha"]
    assert names(name="BRAVO", ordering="-name") == ["Charlie bravo", "Bravo"]
    assert names(tool=str(search_tool.pk)) == ["Bravo"]
    assert names(knowledge_base=str(handbook.pk)) == ["Alpha"]
    assert names(tool=str(uuid.uuid4())) == []
    assert names(ordering="-created_at")[0] == "Charlie bravo"
    agent = Agent.objects.get(name="Bravo")
    agent.save()
    assert names(ordering="-updated_at")[0] == "Bravo"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"tool": "not-a-uuid"}, "tool"),
        ({"knowledge_base": "42"}, "knowledge_base"),
        ({"is_active": "perhaps"}, "is_active"),
        ({"ordering": "system_prompt"}, "ordering"),
    ],
)
def test_list_refuses_bad_filters(viewer_client, params, field):
    response = viewer_client.get(agents_url(), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_retrieve_an_agent(viewer_client, organization, search_tool):
    agent = AgentFactory(organization=organization, tools=[search_tool])
    response = viewer_client.get(agent_url(agent))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(agent.pk)
    assert body["tools"] == [str(search_tool.pk)]
    assert body["tool_summaries"] == [{"id": str(search_tool.pk), "name": "search"}]


def test_update_replaces_tools_and_keeps_what_is_left_out(
    editor_client, organization, search_tool, calculator, handbook
):
    agent = AgentFactory(organization=organization, tools=[search_tool], knowledge_bases=[handbook])
    swapped = editor_client.patch(
        agent_url(agent), {"tools": [str(calculator.pk)], "temperature": "1.25"}, format="json"
    )
    assert swapped.status_code == 200, swapped.json()
    assert swapped.json()["tools"] == [str(calculator.pk)]
    assert swapped.json()["knowledge_bases"] == [str(handbook.pk)]  # left out: kept
    assert swapped.json()["temperature"] == 1.25
    assert list(agent.tools.all()) == [calculator]

    put = editor_client.put(
        agent_url(agent),
        new_agent_payload(name="Renamed", is_active=False, knowledge_bases=[]),
        format="json",
    )
    assert put.status_code == 200, put.json()
    agent.refresh_from_db()
    assert agent.name == "Renamed"
    assert agent.is_active is False
    assert agent.max_output_tokens == 2048
    assert list(agent.knowledge_bases.all()) == []
    assert list(agent.tools.all()) == [calculator]

    cleared = editor_client.patch(agent_url(agent), {"tools": []}, format="json")
    assert cleared.json()["tools"] == []
    assert not agent.tools.exists()


def test_duplicate_ids_count_once(editor_client, search_tool):
    response = editor_client.post(
        agents_url(),
        new_agent_payload(tools=[str(search_tool.pk), str(search_tool.pk).upper()]),
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["tools"] == [str(search_tool.pk)]


def test_editor_deletes_an_agent_and_keeps_its_tools(editor_client, organization, search_tool):
    agent = AgentFactory(organization=organization, tools=[search_tool])
    response = editor_client.delete(agent_url(agent))
    assert response.status_code == 204
    assert not Agent.objects.filter(pk=agent.pk).exists()
    assert Tool.objects.filter(pk=search_tool.pk).exists()


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"temperature": -0.1}, "temperature", "greater than or equal to 0"),
        ({"temperature": 2.01}, "temperature", "less than or equal to 2"),
        ({"temperature": 0.755}, "temperature", "no more than 2 decimal places"),
        ({"temperature": "hot"}, "temperature", "A valid number is required"),
        ({"max_output_tokens": 0}, "max_output_tokens", "greater than or equal to 1"),
        ({"max_output_tokens": 200_001}, "max_output_tokens", "less than or equal to 200000"),
        ({"max_output_tokens": "lots"}, "max_output_tokens", "A valid integer is required"),
        ({"model_name": ""}, "model_name", "may not be blank"),
        ({"model_name": "m" * 101}, "model_name", "no more than 100 characters"),
        ({"name": ""}, "name", "may not be blank"),
        ({"name": "n" * 201}, "name", "no more than 200 characters"),
        ({"tools": "not-a-list"}, "tools", "Expected a list of items"),
        ({"tools": ["not-a-uuid"]}, "tools", "Must be a valid UUID"),
        ({"tools": [{"id": "x"}]}, "tools", "Must be a valid UUID"),
        ({"knowledge_bases": ["12345"]}, "knowledge_bases", "Must be a valid UUID"),
        (
            {"tools": ["00000000-0000-0000-0000-000000000000"]},
            "tools",
            'No object with id "00000000-0000-0000-0000-000000000000" exists',
        ),
        ({"tools": [str(uuid.uuid4()) for _ in range(129)]}, "tools", "at most 128 tools"),
        (
            {"knowledge_bases": [str(uuid.uuid4()) for _ in range(65)]},
            "knowledge_bases",
            "at most 64 knowledge bases",
        ),
        ({"is_active": "maybe"}, "is_active", "Must be a valid boolean"),
    ],
)
def test_create_rejects_bad_input(editor_client, overrides, field, message):
    response = editor_client.post(agents_url(), new_agent_payload(**overrides), format="json")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in " ".join(error["details"][field])
    assert not Agent.objects.exists()


@pytest.mark.parametrize("missing", ["name", "model_name"])
def test_create_requires_name_and_model_name(editor_client, missing):
    payload = new_agent_payload()
    del payload[missing]
    response = editor_client.post(agents_url(), payload, format="json")
    assert response.status_code == 400
    assert "required" in response.json()["error"]["details"][missing][0]


def test_agent_names_are_unique_per_organization(editor_client, organization, other_organization):
    AgentFactory(organization=organization, name="Support bot")
    AgentFactory(organization=other_organization, name="Sales bot")
    taken = editor_client.post(agents_url(), new_agent_payload(), format="json")
    assert taken.status_code == 400
    assert taken.json()["error"]["details"]["name"] == [
        "An agent with this name already exists in this organization."
    ]
    free = editor_client.post(agents_url(), new_agent_payload(name="Sales bot"), format="json")
    assert free.status_code == 201
    renamed = editor_client.patch(
        f"{agents_url()}{free.json()['id']}/", {"name": "Support bot"}, format="json"
    )
    assert renamed.status_code == 400
    assert "already exists" in renamed.json()["error"]["details"]["name"][0]
    assert Agent.objects.filter(organization=organization, name="Sales bot").exists()


@pytest.mark.parametrize(
    ("field", "foreign_fixture"),
    [("tools", "foreign_tool"), ("knowledge_bases", "foreign_knowledge_base")],
)
def test_creating_with_another_organizations_object_is_refused(
    editor_client, request, field, foreign_fixture, search_tool, handbook
):
    foreign = request.getfixturevalue(foreign_fixture)
    own = {"tools": search_tool, "knowledge_bases": handbook}
    payload = new_agent_payload(
        **{name: [str(obj.pk)] for name, obj in own.items()},
    )
    payload[field] = [str(own[field].pk), str(foreign.pk)]
    response = editor_client.post(agents_url(), payload, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"][field] == [
        f'No object with id "{foreign.pk}" exists in this organization.'
    ]
    assert not Agent.objects.exists()
    assert not Agent.tools.through.objects.exists()
    assert not Agent.knowledge_bases.through.objects.exists()


@pytest.mark.parametrize(
    ("field", "foreign_fixture"),
    [("tools", "foreign_tool"), ("knowledge_bases", "foreign_knowledge_base")],
)
def test_updating_with_another_organizations_object_changes_nothing(
    editor_client, organization, request, field, foreign_fixture, search_tool, handbook
):
    foreign = request.getfixturevalue(foreign_fixture)
    own = {"tools": search_tool, "knowledge_bases": handbook}
    agent = AgentFactory(
        organization=organization, name="Keep", tools=[search_tool], knowledge_bases=[handbook]
    )
    for method in ("patch", "put"):
        response = getattr(editor_client, method)(
            agent_url(agent),
            new_agent_payload(name="Changed", **{field: [str(own[field].pk), str(foreign.pk)]}),
            format="json",
        )
        assert response.status_code == 400, method
        assert str(foreign.pk) in response.json()["error"]["details"][field][0]
    agent.refresh_from_db()
    assert agent.name == "Keep"
    assert list(agent.tools.all()) == [search_tool]
    assert list(agent.knowledge_bases.all()) == [handbook]


def test_services_refuse_another_organizations_objects_too(
    organization, owner, foreign_tool, foreign_knowledge_base, search_tool
):
    with pytest.raises(ValidationError) as refused:
        services.agent_create(
            organization=organization,
            created_by=owner.user,
            name="Sneaky",
            model_name="m",
            tools=[foreign_tool],
        )
    assert "tools" in refused.value.message_dict
    assert not Agent.objects.exists()

    agent = AgentFactory(organization=organization, tools=[search_tool])
    with pytest.raises(ValidationError) as refused:
        services.agent_update(
            agent=agent,
            acting_user=owner.user,
            name="Sneaky",
            knowledge_bases=[foreign_knowledge_base],
        )
    assert "knowledge_bases" in refused.value.message_dict
    agent.refresh_from_db()
    assert agent.name != "Sneaky"
    assert list(agent.tools.all()) == [search_tool]
    assert not agent.knowledge_bases.exists()


def test_viewer_can_read_but_not_write(viewer_client, organization, search_tool):
    agent = AgentFactory(organization=organization, name="Keep")
    assert viewer_client.get(agents_url()).status_code == 200
    assert viewer_client.get(agent_url(agent)).status_code == 200
    attempts = [
        viewer_client.post(agents_url(), new_agent_payload(), format="json"),
        viewer_client.put(agent_url(agent), new_agent_payload(), format="json"),
        viewer_client.patch(agent_url(agent), {"tools": [str(search_tool.pk)]}, format="json"),
        viewer_client.delete(agent_url(agent)),
    ]
    for response in attempts:
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "permission_denied"
    agent.refresh_from_db()
    assert agent.name == "Keep"
    assert not agent.tools.exists()
    assert Agent.objects.count() == 1


def test_another_organizations_agent_is_not_found(owner_client, other_organization):
    foreign = AgentFactory(organization=other_organization, name="Theirs")
    for method in ("get", "put", "patch", "delete"):
        response = getattr(owner_client, method)(
            agent_url(foreign), new_agent_payload(name="Stolen"), format="json"
        )
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    foreign.refresh_from_db()
    assert foreign.name == "Theirs"
    # Nor is it reachable through the other organization's URL by a non-member.
    assert owner_client.get(agent_url(foreign, slug="globex")).status_code == 404


@pytest.mark.parametrize("rows", [5, 50])
def test_agent_list_queries_are_constant(
    owner_client, organization, rows, django_assert_max_num_queries
):
    tools = ToolFactory.create_batch(3, organization=organization)
    bases = [
        KnowledgeBase.objects.create(organization=organization, name=f"KB {n}") for n in range(2)
    ]
    AgentFactory.create_batch(rows, organization=organization, tools=tools, knowledge_bases=bases)
    with django_assert_max_num_queries(6):
        response = owner_client.get(agents_url(), {"page_size": 200})
    results = response.json()["results"]
    assert len(results) == rows
    assert all(len(agent["tools"]) == 3 for agent in results)
    assert all(len(agent["knowledge_base_summaries"]) == 2 for agent in results)
