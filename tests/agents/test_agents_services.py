"""Service rules that the API cannot reach on its own: races and direct callers."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.agents import services
from apps.agents.models import Agent

from ..tools.factories import ToolFactory
from .factories import AgentFactory

pytestmark = pytest.mark.django_db


def test_losing_the_race_for_a_name_is_a_field_error(organization):
    AgentFactory(organization=organization, name="Taken")
    # The check before saving saw the name free; the constraint catches the clash.
    with (
        mock.patch.object(services, "_name_is_taken", side_effect=[False, True]),
        pytest.raises(ValidationError) as refused,
    ):
        services.agent_create(
            organization=organization, created_by=None, name="Taken", model_name="m"
        )
    assert refused.value.message_dict == {"name": [services.NAME_TAKEN]}
    assert Agent.objects.filter(name="Taken").count() == 1


def test_other_integrity_errors_are_not_disguised(organization):
    with (
        mock.patch.object(services, "_name_is_taken", return_value=False),
        mock.patch.object(Agent, "save", side_effect=IntegrityError("something else")),
        pytest.raises(IntegrityError),
    ):
        services.agent_create(organization=organization, created_by=None, name="A", model_name="m")


def test_too_many_tools_are_refused_by_the_service(organization):
    tools = ToolFactory.build_batch(services.MAX_TOOLS + 1, organization=organization)
    with pytest.raises(ValidationError) as refused:
        services.agent_create(
            organization=organization, created_by=None, name="A", model_name="m", tools=tools
        )
    assert "at most 128 tools" in refused.value.message_dict["tools"][0]
    assert not Agent.objects.exists()


def test_bad_values_are_refused_by_the_service(organization):
    with pytest.raises(ValidationError) as refused:
        services.agent_create(
            organization=organization,
            created_by=None,
            name="A",
            model_name="",
            temperature=3,
            max_output_tokens=0,
        )
    assert set(refused.value.message_dict) == {"model_name", "temperature", "max_output_tokens"}
    assert not Agent.objects.exists()
