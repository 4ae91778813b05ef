"""Business actions on tools.

A tool's credentials are write-only: these functions store them, and nothing
in the API or the admin reads them back (only `Tool.has_credentials`).
"""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.organizations.models import Organization

from .models import Tool

logger = logging.getLogger(__name__)

NAME_TAKEN = "A tool with this name already exists in this organization."


def _name_is_taken(*, organization_id, name: str, exclude: Tool | None = None) -> bool:
    taken = Tool.objects.filter(organization_id=organization_id, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    return taken.exists()


def _validate_and_save(tool: Tool, *, is_new: bool) -> None:
    tool.full_clean(
        exclude=["organization", "created_by"], validate_unique=False, validate_constraints=False
    )
    if _name_is_taken(
        organization_id=tool.organization_id, name=tool.name, exclude=None if is_new else tool
    ):
        raise ValidationError({"name": [NAME_TAKEN]})
    try:
        # A savepoint, so that losing a race for the name leaves the outer transaction usable.
        with transaction.atomic():
            tool.save(force_insert=is_new)
    except IntegrityError:
        if _name_is_taken(
            organization_id=tool.organization_id, name=tool.name, exclude=None if is_new else tool
        ):
            raise ValidationError({"name": [NAME_TAKEN]}) from None
        raise


@transaction.atomic
def tool_create(
    *,
    organization: Organization,
    created_by: User | None,
    name: str,
    kind: str,
    description: str = "",
    parameters_schema: dict | None = None,
    configuration: dict | None = None,
    credentials: dict | None = None,
) -> Tool:
    """Create a tool of `organization`; its name must be free there.

    Without `parameters_schema` the tool takes no arguments (an empty object schema).
    """
    tool = Tool(
        organization=organization,
        created_by=created_by,
        name=name,
        kind=kind,
        description=description,
        configuration={} if configuration is None else configuration,
        credentials={} if credentials is None else credentials,
    )
    if parameters_schema is not None:
        tool.parameters_schema = parameters_schema
    _validate_and_save(tool, is_new=True)
    logger.info("Tool %s (%s) created in %s", tool.pk, tool.name, organization.slug)
    return tool


@transaction.atomic
def tool_update(
    *,
    tool: Tool,
    acting_user: User | None,
    name: str | None = None,
    kind: str | None = None,
    description: str | None = None,
    parameters_schema: dict | None = None,
    configuration: dict | None = None,
    credentials: dict | None = None,
) -> Tool:
    """Change a tool. Arguments left as None keep their value.

    `credentials` replace the stored ones as a whole; `{}` removes them, and
    leaving them out keeps them (clients never see them, so cannot resend them).
    """
    changes = {
        "name": name,
        "kind": kind,
        "description": description,
        "parameters_schema": parameters_schema,
        "configuration": configuration,
        "credentials": credentials,
    }
    for field, value in changes.items():
        if value is not None:
            setattr(tool, field, value)
    _validate_and_save(tool, is_new=False)
    changed = sorted(field for field, value in changes.items() if value is not None)
    logger.info(
        "Tool %s updated by user %s: %s",
        tool.pk,
        getattr(acting_user, "pk", None),
        ", ".join(changed) or "nothing",
    )
    return tool


@transaction.atomic
def tool_delete(*, tool: Tool, acting_user: User | None) -> None:
    """Delete a tool; agents that used it simply no longer have it."""
    tool_id = tool.pk
    tool.delete()
    logger.info("Tool %s deleted by user %s", tool_id, getattr(acting_user, "pk", None))
