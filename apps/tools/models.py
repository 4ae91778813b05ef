from django.core.validators import RegexValidator
from django.db import models

from apps.organizations.models import OrganizationOwnedModel

tool_name_validator = RegexValidator(
    r"^[A-Za-z0-9_-]{1,64}$",
    "Use 1 to 64 letters, digits, underscores and hyphens (the name a model calls the tool by).",
)


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
        default=dict, blank=True, help_text="JSON Schema of the tool's parameters."
    )
    configuration = models.JSONField(default=dict, blank=True)
    credentials = models.JSONField(default=dict, blank=True)

    class Meta(OrganizationOwnedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tools_tool_unique_name"),
        ]

    def __str__(self):
        return self.name

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials)
