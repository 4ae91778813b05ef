import django_filters

from apps.agents.models import Agent


class AgentFilter(django_filters.FilterSet):
    # Not BooleanFilter: it ignores a value it cannot read instead of refusing it.
    is_active = django_filters.TypedChoiceFilter(
        choices=(("true", "true"), ("false", "false")), coerce=lambda value: value == "true"
    )
    model_name = django_filters.CharFilter()
    name = django_filters.CharFilter(lookup_expr="icontains")
    tool = django_filters.UUIDFilter(field_name="tools", label="Agents that may use this tool.")
    knowledge_base = django_filters.UUIDFilter(
        field_name="knowledge_bases", label="Agents that may draw on this knowledge base."
    )

    class Meta:
        model = Agent
        fields = ("is_active", "model_name", "name", "tool", "knowledge_base")
