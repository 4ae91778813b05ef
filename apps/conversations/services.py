"""Business actions on conversations and their messages.

Views check that the caller holds the permission an action needs and resolve
the objects within the caller's organization; these functions keep the rules
that hold whoever calls them: a conversation talks to an active agent of its
own organization, and a message always belongs to its conversation's
organization.
"""

from django.core.exceptions import ValidationError
from django.db import transaction

from apps.accounts.models import User
from apps.agents.models import Agent
from apps.organizations.models import Organization

from .models import Conversation, Message


def _full_clean(instance, *, exclude: list[str] | None = None) -> None:
    instance.full_clean(exclude=exclude, validate_unique=False, validate_constraints=False)


def _check_agent(*, agent: Agent, organization_id) -> None:
    """Refuse an agent of another organization or one that is switched off."""
    # Views only offer agents of the caller's organization; this holds for every other caller.
    if agent.organization_id != organization_id:
        raise ValidationError(
            {"agent": [f'No object with id "{agent.pk}" exists in this organization.']}
        )
    if not agent.is_active:
        raise ValidationError(
            {"agent": [f'Agent "{agent.name}" is inactive; activate it or choose another agent.']}
        )


def _check_content(content: str) -> None:
    # Whitespace alone says nothing; the content itself is stored exactly as given.
    if not content.strip():
        raise ValidationError({"content": ["This field may not be blank."]})


@transaction.atomic
def conversation_create(
    *, organization: Organization, agent: Agent, created_by: User, title: str = ""
) -> Conversation:
    """Start a conversation with an active agent; its creator becomes its owner."""
    _check_agent(agent=agent, organization_id=organization.pk)
    conversation = Conversation(
        organization=organization,
        agent=agent,
        title=title,
        owner=created_by,
        created_by=created_by,
    )
    _full_clean(conversation)
    conversation.save()
    return conversation


@transaction.atomic
def conversation_update(
    *, conversation: Conversation, title: str | None = None, agent: Agent | None = None
) -> Conversation:
    """Rename a conversation or hand it to another active agent of its organization.

    Keeping the agent it already has is always allowed, even if that agent was
    switched off since; switching to an inactive agent is not.
    """
    if title is not None:
        conversation.title = title
    if agent is not None and agent.pk != conversation.agent_id:
        _check_agent(agent=agent, organization_id=conversation.organization_id)
        conversation.agent = agent
    _full_clean(conversation)
    conversation.save()
    return conversation


@transaction.atomic
def conversation_delete(*, conversation: Conversation) -> None:
    """Delete a conversation and all of its messages."""
    conversation.delete()


@transaction.atomic
def message_create(
    *,
    conversation: Conversation,
    role: str,
    content: str,
    created_by: User | None,
    prompt_tokens: int = 0,
    completion_tokens: int = 0,
) -> Message:
    """Add a message to a conversation, and mark the conversation as just active."""
    _check_content(content)
    message = Message(
        organization_id=conversation.organization_id,
        conversation=conversation,
        role=role,
        content=content,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        created_by=created_by,
    )
    _full_clean(message)
    message.save()
    # auto_now sets the new time; listing by -updated_at then shows recent activity first.
    conversation.save(update_fields=["updated_at"])
    return message


@transaction.atomic
def message_update(
    *,
    message: Message,
    role: str | None = None,
    content: str | None = None,
    prompt_tokens: int | None = None,
    completion_tokens: int | None = None,
) -> Message:
    """Correct a message: its role, content or token counts (only those given change)."""
    changes = {
        "role": role,
        "content": content,
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
    }
    if content is not None:
        _check_content(content)
    for field, value in changes.items():
        if value is not None:
            setattr(message, field, value)
    _full_clean(message)
    message.save()
    return message


@transaction.atomic
def message_delete(*, message: Message) -> None:
    """Delete one message; the rest of its conversation stays."""
    message.delete()
