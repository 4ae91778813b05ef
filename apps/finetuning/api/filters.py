import django_filters

from apps.finetuning.models import FineTuningJob


class FineTuningJobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=FineTuningJob.Status.choices)
    base_model = django_filters.CharFilter()

    class Meta:
        model = FineTuningJob
        fields = ("status", "base_model")
