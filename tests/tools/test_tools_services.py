"""Service rules that the API cannot reach on its own: races and direct callers."""

from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from apps.tools import services
from apps.tools.models import Tool

from .factories import ToolFactory

pytestmark = pytest.mark.django_db


def test_losing_the_race_for_a_name_is_a_field_error(organization):
    ToolFactory(organization=organization, name="taken")
    # The check before saving saw the name free; the constraint catches the clash.
    with (
        mock.patch.object(services, "_name_is_taken", side_effect=[False, True]),
        pytest.raises(ValidationError) as refused,
    ):
        services.tool_create(
            organization=organization, created_by=None, name="taken", kind="function"
        )
    assert refused.value.message_dict == {"name": [services.NAME_TAKEN]}
    assert Tool.objects.filter(name="taken").count() == 1


def test_other_integrity_errors_are_not_disguised(organization):
    with (
        mock.patch.object(services, "_name_is_taken", return_value=False),
        mock.patch.object(Tool, "save", side_effect=IntegrityError("something else")),
        pytest.raises(IntegrityError),
    ):
        services.tool_create(organization=organization, created_by=None, name="a", kind="code")


def test_the_service_refuses_what_the_api_would(organization):
    with pytest.raises(ValidationError) as refused:
        services.tool_create(
            organization=organization,
            created_by=None,
            name="bad name",
            kind="telepathy",
            parameters_schema={"type": "array"},
            configuration=[],
            credentials="secret",
        )
    assert set(refused.value.message_dict) == {
        "name",
        "kind",
        "parameters_schema",
        "configuration",
        "credentials",
    }
    assert not Tool.objects.exists()


def test_update_and_delete_through_the_services(organization, owner):
    tool = ToolFactory(organization=organization, credentials={"k": "v"})
    services.tool_update(tool=tool, acting_user=owner.user, description="New")
    tool.refresh_from_db()
    assert tool.description == "New"
    assert tool.credentials == {"k": "v"}
    services.tool_delete(tool=tool, acting_user=owner.user)
    assert not Tool.objects.exists()
