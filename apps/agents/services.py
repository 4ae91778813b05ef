"""Business actions on agents.

An agent refers to tools and knowledge bases of its own organization only: the
API refuses other ids before they get here, and these functions check again so
that no other caller can cross organizations either.
"""

import logging
from collections.abc import Iterable
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.audit.recording import one_entry
from apps.knowledge.models import KnowledgeBase
from apps.organizations.models import Organization
from apps.tools.models import Tool

from .models import Agent

logger = logging.getLogger(__name__)

NAME_TAKEN = "An agent with this name already exists in this organization."
# Model providers accept at most 128 tools in one request.
MAX_TOOLS = 128
MAX_KNOWLEDGE_BASES = 64


def _name_is_taken(*, agent: Agent, is_new: bool) -> bool:
    taken = Agent.objects.filter(organization_id=agent.organization_id, name=agent.name)
    if not is_new:
        taken = taken.exclude(pk=agent.pk)
    return taken.exists()


def _distinct_of_organization(
    objects: Iterable, *, organization_id, field: str, limit: int, noun: str
) -> list:
    distinct = list({obj.pk: obj for obj in objects}.values())
    if len(distinct) > limit:
        raise ValidationError({field: [f"An agent can use at most {limit} {noun}."]})
    foreign = [obj for obj in distinct if obj.organization_id != organization_id]
    if foreign:
        raise ValidationError(
            {field: [f'No object with id "{foreign[0].pk}" exists in this organization.']}
        )
    return distinct


def _check_related(
    *,
    organization_id,
    tools: Iterable[Tool] | None,
    knowledge_bases: Iterable[KnowledgeBase] | None,
) -> tuple[list[Tool] | None, list[KnowledgeBase] | None]:
    if tools is not None:
        tools = _distinct_of_organization(
            tools, organization_id=organization_id, field="tools", limit=MAX_TOOLS, noun="tools"
        )
    if knowledge_bases is not None:
        knowledge_bases = _distinct_of_organization(
            knowledge_bases,
            organization_id=organization_id,
            field="knowledge_bases",
            limit=MAX_KNOWLEDGE_BASES,
            noun="knowledge bases",
        )
    return tools, knowledge_bases


def _validate_and_save(agent: Agent, *, is_new: bool) -> None:
    agent.full_clean(
        exclude=["organization", "created_by"], validate_unique=False, validate_constraints=False
    )
    if _name_is_taken(agent=agent, is_new=is_new):
        raise ValidationError({"name": [NAME_TAKEN]})
    try:
        # A savepoint, so that losing a race for the name leaves the outer transaction usable.
        with transaction.atomic():
            agent.save(force_insert=is_new)
    except IntegrityError:
        if _name_is_taken(agent=agent, is_new=is_new):
            raise ValidationError({"name": [NAME_TAKEN]}) from None
        raise


@transaction.atomic
def agent_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    model_name: str,
    description: str = "",
    system_prompt: str = "",
    temperature: Decimal | None = None,
    max_output_tokens: int | None = None,
    is_active: bool = True,
    tools: Iterable[Tool] = (),
    knowledge_bases: Iterable[KnowledgeBase] = (),
) -> Agent:
    """Create an agent of `organization` with the tools and knowledge bases it may use.

    The agent and its relations are written in one transaction: a refusal
    writes nothing.
    """
    tools, knowledge_bases = _check_related(
        organization_id=organization.pk, tools=tools, knowledge_bases=knowledge_bases
    )
    agent = Agent(
        organization=organization,
        created_by=created_by,
        name=name,
        model_name=model_name,
        description=description,
        system_prompt=system_prompt,
        is_active=is_active,
    )
    if temperature is not None:
        agent.temperature = temperature
    if max_output_tokens is not None:
        agent.max_output_tokens = max_output_tokens
    with one_entry(agent):
        _validate_and_save(agent, is_new=True)
        agent.tools.set(tools)
        agent.knowledge_bases.set(knowledge_bases)
    logger.info("Agent %s (%s) created in %s", agent.pk, agent.name, organization.slug)
    return agent


@transaction.atomic
def agent_update(
    *,
    agent: Agent,
    acting_user: User | None,
    name: str | None = None,
    model_name: str | None = None,
    description: str | None = None,
    system_prompt: str | None = None,
    temperature: Decimal | None = None,
    max_output_tokens: int | None = None,
    is_active: bool | None = None,
    tools: Iterable[Tool] | None = None,
    knowledge_bases: Iterable[KnowledgeBase] | None = None,
) -> Agent:
    """Change an agent. Arguments left as None keep their value.

    `tools` and `knowledge_bases` replace the agent's whole set (`[]` empties
    it); everything is written in one transaction, or nothing is.
    """
    tools, knowledge_bases = _check_related(
        organization_id=agent.organization_id, tools=tools, knowledge_bases=knowledge_bases
    )
    changes = {
        "name": name,
        "model_name": model_name,
        "description": description,
        "system_prompt": system_prompt,
        "temperature": temperature,
        "max_output_tokens": max_output_tokens,
        "is_active": is_active,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(agent, field, value)
    with one_entry(agent):
        _validate_and_save(agent, is_new=False)
        if tools is not None:
            agent.tools.set(tools)
        if knowledge_bases is not None:
            agent.knowledge_bases.set(knowledge_bases)
    changed = sorted(field for field, value in changes.items() if value is not None)
    changed += [
        field
        for field, value in (("tools", tools), ("knowledge_bases", knowledge_bases))
        if value is not None
    ]
    logger.info(
        "Agent %s updated by user %s: %s",
        agent.pk,
        getattr(acting_user, "pk", None),
        ", ".join(changed) or "nothing",
    )
    return agent


@transaction.atomic
def agent_delete(*, agent: Agent, acting_user: User | None) -> None:
    """Delete an agent and its conversations; its tools and knowledge bases stay."""
    agent_id = agent.pk
    agent.delete()
    logger.info("Agent %s deleted by user %s", agent_id, getattr(acting_user, "pk", None))
