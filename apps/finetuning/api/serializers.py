import json

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.files.base import ContentFile
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.accounts.api.serializers import UserSummarySerializer
from apps.finetuning import services
from apps.finetuning.hyperparameters import EXAMPLE, HYPERPARAMETERS, clean_hyperparameters
from apps.finetuning.models import FineTuningJob

# The name a training file sent inline, as `training_data` text, is stored under.
INLINE_TRAINING_FILE_NAME = "training_data.jsonl"


def _hyperparameters_schema() -> dict:
    properties = {}
    for name, spec in HYPERPARAMETERS.items():
        schema = {
            "type": "integer" if spec.is_integer else "number",
            "maximum": spec.maximum,
            "description": f"{spec.description} Default {spec.default}.",
        }
        if spec.exclusive_minimum:
            schema["exclusiveMinimum"] = True
        schema["minimum"] = spec.minimum
        properties[name] = schema
    return {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "example": json.loads(EXAMPLE),
    }


@extend_schema_field(_hyperparameters_schema())
class HyperparametersField(serializers.Field):
    """A JSON object; in a multipart form, the same object written as a JSON string."""

    def to_internal_value(self, data):
        if isinstance(data, str):
            try:
                data = json.loads(data)
            except (ValueError, RecursionError):
                data = None
        if not isinstance(data, dict):
            raise serializers.ValidationError(f"Must be a JSON object, such as {EXAMPLE}.")
        try:
            return clean_hyperparameters(data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict["hyperparameters"]) from None

    def to_representation(self, value):
        return value


class FineTuningJobSerializer(serializers.ModelSerializer):
    created_by = UserSummarySerializer(read_only=True)
    hyperparameters = HyperparametersField(read_only=True)
    validation_stats = serializers.JSONField(
        read_only=True,
        help_text=(
            "Filled in by validation. Valid file: is_valid, examples, messages, "
            "messages_by_role, characters, estimated_tokens, min/max/mean_messages_per_example, "
            "blank_lines. Invalid file: is_valid false, error_line, examples_checked."
        ),
    )
    result = serializers.JSONField(
        read_only=True,
        help_text="What the provider reports when the job succeeds, e.g. fine_tuned_model.",
    )

    class Meta:
        model = FineTuningJob
        fields = (
            "id",
            "base_model",
            "training_file_name",
            "hyperparameters",
            "provider",
            "status",
            "validation_stats",
            "result",
            "error",
            "created_by",
            "created_at",
            "updated_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class FineTuningJobCreateSerializer(serializers.Serializer):
    """What every create request has; the subclasses add the training file."""

    base_model = serializers.CharField(
        max_length=100, help_text=f"The model to fine-tune. {services.BASE_MODEL_RULE}"
    )
    hyperparameters = HyperparametersField(
        required=False,
        help_text=f"A JSON object (in a multipart form: a JSON string), such as {EXAMPLE}.",
    )

    def validate_base_model(self, value: str) -> str:
        if messages := services.base_model_errors(value):
            raise serializers.ValidationError(messages)
        return value

    def _check_file(self, training_file):
        if messages := services.training_file_errors(training_file):
            raise serializers.ValidationError(messages)
        return training_file

    def service_arguments(self) -> dict:
        """The keyword arguments of `finetuning_job_create` this request gives."""
        data = self.validated_data
        return {
            "base_model": data["base_model"],
            "hyperparameters": data.get("hyperparameters", {}),
            "training_file": data[self.file_field],
        }


class FineTuningJobUploadSerializer(FineTuningJobCreateSerializer):
    """A create request as a multipart form, with the training file uploaded."""

    file_field = "training_file"
    training_file = serializers.FileField(
        allow_empty_file=True,
        use_url=False,
        help_text="A JSON Lines file (.jsonl or .json): one chat example per line.",
    )

    def validate_training_file(self, value):
        return self._check_file(value)


class FineTuningJobInlineSerializer(FineTuningJobCreateSerializer):
    """A create request as JSON, with the training file's content given as text."""

    file_field = "training_data"
    training_data = serializers.CharField(
        allow_blank=True,
        trim_whitespace=False,
        help_text=(
            "The content of a JSON Lines training file: one chat example per line. "
            f'Stored as "{INLINE_TRAINING_FILE_NAME}".'
        ),
    )

    def validate_training_data(self, value: str) -> ContentFile:
        return self._check_file(ContentFile(value.encode("utf-8"), name=INLINE_TRAINING_FILE_NAME))
