"""The rules services keep for every caller, not only the API."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from apps.conversations import services
from apps.conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_conversation_create_refuses_an_agent_of_another_organization(
    organization, other_agent, owner
):
    with pytest.raises(ValidationError) as refused:
        services.conversation_create(
            organization=organization, agent=other_agent, created_by=owner.user
        )
    assert "agent" in refused.value.message_dict
    assert not Conversation.objects.exists()


def test_conversation_update_refuses_an_agent_of_another_organization(conversation, other_agent):
    with pytest.raises(ValidationError) as refused:
        services.conversation_update(conversation=conversation, agent=other_agent)
    assert "agent" in refused.value.message_dict
    conversation.refresh_from_db()
    assert conversation.agent.organization == conversation.organization


def test_conversation_create_sets_owner_and_creator(organization, agent, owner):
    conversation = services.conversation_create(
        organization=organization, agent=agent, created_by=owner.user, title="Hello"
    )
    assert (conversation.owner, conversation.created_by) == (owner.user, owner.user)


def test_message_takes_its_organization_from_the_conversation(conversation, owner):
    message = services.message_create(
        conversation=conversation, role="user", content="Hi", created_by=owner.user
    )
    assert message.organization_id == conversation.organization_id


def test_message_create_validates_the_model_rules(conversation, owner):
    with pytest.raises(ValidationError) as refused:
        services.message_create(
            conversation=conversation, role="robot", content="  ", created_by=owner.user
        )
    assert set(refused.value.message_dict) == {"content"}
    with pytest.raises(ValidationError) as refused:
        services.message_create(
            conversation=conversation, role="robot", content="Hi", created_by=owner.user
        )
    assert set(refused.value.message_dict) == {"role"}
    assert not Message.objects.exists()


def test_message_update_changes_only_what_is_given(conversation, make_message):
    message = make_message(conversation, content="Hi", prompt_tokens=3)
    before = timezone.now() - timedelta(seconds=1)
    services.message_update(message=message, completion_tokens=4)
    message.refresh_from_db()
    assert (message.content, message.prompt_tokens, message.completion_tokens) == ("Hi", 3, 4)
    assert message.updated_at > before


def test_conversation_delete_and_message_delete(conversation, make_message):
    first = make_message(conversation)
    make_message(conversation)
    services.message_delete(message=first)
    assert Message.objects.count() == 1
    services.conversation_delete(conversation=conversation)
    assert not Message.objects.exists()
