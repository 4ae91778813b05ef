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
