from rest_framework import serializers

from apps.accounts.api.serializers import UserSummarySerializer
from apps.workflows.models import Workflow, WorkflowRun


class WorkflowSerializer(serializers.ModelSerializer):
    definition = serializers.JSONField(
        help_text=(
            'The steps: {"steps": [{"name", "kind", "config", "depends_on"}, ...]}; '
            "validated on every write, see docs/WORKFLOWS.md."
        )
    )
    created_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = Workflow
        fields = (
            "id",
            "name",
            "description",
            "definition",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_by", "created_at", "updated_at")


class WorkflowRunSerializer(serializers.ModelSerializer):
    workflow = serializers.PrimaryKeyRelatedField(read_only=True)
    created_by = UserSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = WorkflowRun
        fields = (
            "id",
            "workflow",
            "status",
            "input",
            "output",
            "step_results",
            "error",
            "failed_step",
            "definition",
            "created_by",
            "created_at",
            "started_at",
            "finished_at",
            "cancel_requested_at",
        )
        read_only_fields = fields


class WorkflowRunStartSerializer(serializers.Serializer):
    input = serializers.JSONField(
        required=False,
        default=dict,
        help_text="A JSON object, the run's input (read by templates as {{ input.<key> }}).",
    )
