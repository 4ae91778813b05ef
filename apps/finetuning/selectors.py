from django.db.models import QuerySet

from apps.organizations.models import Organization

from .models import FineTuningJob


def finetuning_job_list(*, organization: Organization) -> QuerySet[FineTuningJob]:
    """The organization's fine-tuning jobs, with what their API representation reads."""
    return FineTuningJob.objects.filter(organization=organization).select_related("created_by")
