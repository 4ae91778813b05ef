from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from apps.access import catalog
from apps.access.models import RoleGrantBase, UserGrantBase
from apps.organizations.models import OrganizationOwnedModel

from .validators import validate_json_object, validate_parameters_schema

tool_name_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{1,64}$",
    "Use 1 to 64 letters, digits, underscores and hyphens (the name a model calls the tool by).",
)


def default_parameters_schema() -> dict:
    """A tool that takes no arguments."""
    return {"type": "object", "properties": {}}


class Tool(OrganizationOwnedModel):
    """Something an agent can call: an HTTP endpoint, a function, a retrieval, ...

    `credentials` are write-only: accepted on create and update, never returned
    by the API nor shown in the admin.
    """

    class Kind(models.TextChoices):
        HTTP = "http", "HTTP request"
        FUNCTION = "function", "Function"
        RETRIEVAL = "retrieval", "Retrieval"
        CODE = "code", "Code interpreter"

    name = models.CharField(max_length=64, validators=[tool_name_validator])
    kind = models.CharField(max_length=20, choices=Kind.choices)
    description = models.TextField(blank=True, max_length=4000)
    parameters_schema = models.JSONField(
        default=default_parameters_schema,
        blank=True,
        help_text="JSON Schema (draft 2020-12) of the tool's parameters; an object schema.",
    )
    configuration = models.JSONField(default=dict, blank=True)
    credentials = models.JSONField(default=dict, blank=True)

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("tools")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tools_tool_unique_name"),
        ]

    def __str__(self):
        return self.name

    def clean(self):
        # Here rather than as field validators: a blank JSONField skips its
        # validators on `{}`, and `{}` is not an object schema.
        errors = {}
        checks = (
            ("parameters_schema", validate_parameters_schema),
            ("configuration", validate_json_object),
            ("credentials", validate_json_object),
        )
        for field, check in checks:
            try:
                check(getattr(self, field))
            except ValidationError as error:
                errors[field] = error.messages
        if errors:
            raise ValidationError(errors)

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)


class ToolUserGrant(UserGrantBase):
    """An action on one tool granted to one member."""

    content_object = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="user_grants")


class ToolRoleGrant(RoleGrantBase):
    """An action on one tool granted to every member holding a role."""

    content_object = models.ForeignKey(Tool, on_delete=models.CASCADE, related_name="role_grants")
