import django_filters

from apps.tools.models import Tool


class ToolFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Tool.Kind.choices)
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Tool
        fields = ("kind", "name")
