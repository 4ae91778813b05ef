"""Rules a permission alone cannot say."""

import pytest

from apps.access.policy import member_access
from apps.access.services import role_create
from apps.agents.models import Agent
from apps.conversations.models import Conversation, Message
from apps.tools.models import Tool

pytestmark = pytest.mark.django_db


def test_a_body_cannot_reference_an_object_the_caller_may_not_read(
    owner, member_of, client_for, organization
):
    access = member_access(user=owner.user, organization_slug="acme")
    role = role_create(access=access, key="builder", name="Builder", permissions=["agents:create"])
    builder = member_of(organization, role).user
    tool = Tool.objects.create(organization=organization, name="secret_tool", kind="function")
    response = client_for(builder).post(
        "/api/v1/orgs/acme/agents/",
        {"name": "A", "model_name": "m", "tools": [str(tool.pk)]},
    )
    assert response.status_code == 400
    assert "tools" in response.json()["error"]["details"]
    assert "secret_tool" not in response.content.decode()
    assert not Agent.objects.exists()


@pytest.mark.parametrize(("deleter_role", "expected"), [("editor", 403), ("admin", 204)])
def test_a_message_is_deleted_by_its_conversations_owner_or_a_manager(
    owner, member_of, client_for, organization, deleter_role, expected
):
    agent = Agent.objects.create(organization=organization, name="A", model_name="m")
    author = member_of(organization, "editor").user
    conversation = Conversation.objects.create(
        organization=organization, agent=agent, owner=author, created_by=author
    )
    message = Message.objects.create(
        organization=organization, conversation=conversation, role="user", content="hi"
    )
    deleter = member_of(organization, deleter_role).user
    url = f"/api/v1/orgs/acme/conversations/{conversation.pk}/messages/{message.pk}/"
    assert client_for(deleter).delete(url).status_code == expected
    assert Message.objects.filter(pk=message.pk).exists() is (expected == 403)
    if expected == 403:
        assert client_for(author).delete(url).status_code == 204


def test_an_agent_names_only_the_tools_the_caller_may_read(
    owner, member_of, client_for, organization
):
    access = member_access(user=owner.user, organization_slug="acme")
    role = role_create(access=access, key="reader", name="Reader", permissions=["agents:read"])
    reader = member_of(organization, role).user
    tool = Tool.objects.create(organization=organization, name="hidden_tool", kind="function")
    agent = Agent.objects.create(organization=organization, name="A", model_name="m")
    agent.tools.add(tool)
    body = client_for(reader).get(f"/api/v1/orgs/acme/agents/{agent.pk}/").json()
    assert body["tools"] == []
    assert "hidden_tool" not in str(body)
    owner_view = client_for(owner.user).get(f"/api/v1/orgs/acme/agents/{agent.pk}/").json()
    assert owner_view["tools"] == [str(tool.pk)]


def test_has_perm_checks_the_permission_name_and_follows_parents(owner, organization):
    from apps.knowledge.models import Document, KnowledgeBase

    agent = Agent.objects.create(organization=organization, name="A", model_name="m")
    user = owner.user
    assert user.has_perm("agents.agents:update", agent)
    assert not user.has_perm("nonsense.agents:update", agent)
    assert not user.has_perm("agents.tools:read", agent)
    assert not user.has_perm("agents.unknown:read", agent)
    knowledge_base = KnowledgeBase.objects.create(organization=organization, name="K")
    document = Document.objects.create(
        organization=organization, knowledge_base=knowledge_base, name="d.txt"
    )
    assert user.has_perm("knowledge.knowledge_bases:read", document)


def test_options_advertises_only_what_the_caller_may_do(member_of, client_for, organization):
    agent = Agent.objects.create(organization=organization, name="A", model_name="m")
    viewer = client_for(member_of(organization, "viewer").user)
    editor = client_for(member_of(organization, "editor").user)
    detail = f"/api/v1/orgs/acme/agents/{agent.pk}/"
    assert "PUT" not in viewer.options(detail).json().get("actions", {})
    assert "POST" not in viewer.options("/api/v1/orgs/acme/agents/").json().get("actions", {})
    assert "PUT" in editor.options(detail).json()["actions"]
    assert "POST" in editor.options("/api/v1/orgs/acme/agents/").json()["actions"]
