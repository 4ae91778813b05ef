import pytest

from apps.agents.models import Agent
from apps.conversations.models import Conversation, Message
from apps.organizations.models import BuiltinRole


@pytest.fixture
def make_agent():
    """Create an agent directly (the agents API is not what is under test here)."""

    def make(organization, name="Support bot", **fields):
        return Agent.objects.create(
            organization=organization, name=name, model_name="gpt-4o-mini", **fields
        )

    return make


@pytest.fixture
def agent(organization, make_agent):
    return make_agent(organization)


@pytest.fixture
def other_agent(other_organization, make_agent):
    return make_agent(other_organization, name="Globex bot")


@pytest.fixture
def make_conversation(owner):
    def make(agent, title="", owner_user=None):
        user = owner_user or owner.user
        return Conversation.objects.create(
            organization=agent.organization,
            agent=agent,
            title=title,
            owner=user,
            created_by=user,
        )

    return make


@pytest.fixture
def conversation(agent, make_conversation):
    return make_conversation(agent, title="Refund for order 42")


@pytest.fixture
def other_conversation(other_agent, other_organization, member_of):
    user = member_of(other_organization, BuiltinRole.OWNER).user
    return Conversation.objects.create(
        organization=other_organization,
        agent=other_agent,
        title="Globex secrets",
        owner=user,
        created_by=user,
    )


@pytest.fixture
def make_message():
    def make(conversation, role=Message.Role.USER, content="Hello", **fields):
        return Message.objects.create(
            organization=conversation.organization,
            conversation=conversation,
            role=role,
            content=content,
            **fields,
        )

    return make


@pytest.fixture
def viewer_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.VIEWER).user)


@pytest.fixture
def editor_client(organization, member_of, client_for):
    return client_for(member_of(organization, BuiltinRole.EDITOR).user)
