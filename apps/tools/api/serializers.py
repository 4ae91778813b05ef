from rest_framework import serializers

from apps.tools.models import Tool
from apps.tools.validators import validate_json_object, validate_parameters_schema

KIND_CHOICES_TEXT = ", ".join(Tool.Kind.values)


class ToolSerializer(serializers.ModelSerializer):
    """A tool as the API shows it: `credentials` go in, only `has_credentials` comes out."""

    kind = serializers.ChoiceField(
        choices=Tool.Kind.choices,
        error_messages={
            "invalid_choice": f'"{{input}}" is not a valid kind. Choose from: {KIND_CHOICES_TEXT}.'
        },
    )
    parameters_schema = serializers.JSONField(
        required=False,
        validators=[validate_parameters_schema],
        help_text=(
            "JSON Schema (draft 2020-12) of the arguments, an object schema. "
            'Defaults to {"type": "object", "properties": {}} (no arguments).'
        ),
    )
    configuration = serializers.JSONField(
        required=False,
        validators=[validate_json_object],
        help_text="A JSON object of settings for the tool (at most 64 KB).",
    )
    credentials = serializers.JSONField(
        required=False,
        write_only=True,
        validators=[validate_json_object],
        help_text=(
            "Write-only JSON object of secrets (at most 64 KB). Never returned. "
            "Omit to keep the stored ones; send {} to remove them."
        ),
    )
    has_credentials = serializers.BooleanField(
        read_only=True, help_text="Whether the tool has credentials stored."
    )

    class Meta:
        model = Tool
        fields = (
            "id",
            "name",
            "kind",
            "description",
            "parameters_schema",
            "configuration",
            "credentials",
            "has_credentials",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_by", "created_at", "updated_at")


class ToolSummarySerializer(serializers.ModelSerializer):
    """A tool named where another object refers to it."""

    class Meta:
        model = Tool
        fields = ("id", "name")
        read_only_fields = fields
