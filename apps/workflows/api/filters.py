import django_filters

from apps.workflows.models import Workflow, WorkflowRun


class WorkflowFilter(django_filters.FilterSet):
    name = django_filters.CharFilter(lookup_expr="icontains")

    class Meta:
        model = Workflow
        fields = ("name", "is_active")


class WorkflowRunFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WorkflowRun.Status.choices)

    class Meta:
        model = WorkflowRun
        fields = ("status",)
