from decimal import Decimal

from rest_framework import serializers

from apps.agents.models import Agent
from apps.agents.services import MAX_KNOWLEDGE_BASES, MAX_TOOLS
from apps.knowledge.models import KnowledgeBase
from apps.organizations.api.fields import OrganizationScopedRelatedField
from apps.tools.api.serializers import ToolSummarySerializer
from apps.tools.models import Tool


class KnowledgeBaseSummarySerializer(serializers.ModelSerializer):
    """A knowledge base named where an agent refers to it."""

    class Meta:
        model = KnowledgeBase
        fields = ("id", "name")
        read_only_fields = fields


class AgentSerializer(serializers.ModelSerializer):
    """An agent; `tools` and `knowledge_bases` are written and read as lists of ids."""

    temperature = serializers.DecimalField(
        max_digits=3,
        decimal_places=2,
        min_value=Decimal("0"),
        max_value=Decimal("2"),
        coerce_to_string=False,
        required=False,
        help_text="Sampling temperature, 0 to 2 (default 0.7).",
    )
    max_output_tokens = serializers.IntegerField(
        min_value=1,
        max_value=200_000,
        required=False,
        help_text="Most tokens one reply may have, 1 to 200000 (default 1024).",
    )
    tools = OrganizationScopedRelatedField(
        many=True,
        queryset=Tool.objects.all(),
        required=False,
        help_text=f"Ids of this organization's tools the agent may call (at most {MAX_TOOLS}).",
    )
    knowledge_bases = OrganizationScopedRelatedField(
        many=True,
        queryset=KnowledgeBase.objects.all(),
        required=False,
        help_text=(
            "Ids of this organization's knowledge bases the agent may draw on "
            f"(at most {MAX_KNOWLEDGE_BASES})."
        ),
    )
    tool_summaries = ToolSummarySerializer(source="tools", many=True, read_only=True)
    knowledge_base_summaries = KnowledgeBaseSummarySerializer(
        source="knowledge_bases", many=True, read_only=True
    )

    class Meta:
        model = Agent
        fields = (
            "id",
            "name",
            "description",
            "model_name",
            "system_prompt",
            "temperature",
            "max_output_tokens",
            "tools",
            "knowledge_bases",
            "tool_summaries",
            "knowledge_base_summaries",
            "is_active",
            "created_by",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("id", "created_by", "created_at", "updated_at")

    def to_internal_value(self, data):
        # Each id costs a query to look up, so refuse an oversized list before looking.
        if hasattr(data, "get"):
            limits = (
                ("tools", MAX_TOOLS, "tools"),
                ("knowledge_bases", MAX_KNOWLEDGE_BASES, "knowledge bases"),
            )
            for field, limit, noun in limits:
                value = data.get(field)
                if isinstance(value, list) and len(value) > limit:
                    raise serializers.ValidationError(
                        {field: [f"An agent can use at most {limit} {noun}."]}
                    )
        return super().to_internal_value(data)
