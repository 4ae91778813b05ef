import factory

from apps.finetuning.models import FineTuningJob
from tests.factories import OrganizationFactory

VALID_LINE = (
    b'{"messages": [{"role": "user", "content": "Hi"}, '
    b'{"role": "assistant", "content": "Hello."}]}\n'
)


class FineTuningJobFactory(factory.django.DjangoModelFactory):
    """A job as it is stored, with a real training file; no task is queued."""

    class Meta:
        model = FineTuningJob

    organization = factory.SubFactory(OrganizationFactory)
    base_model = "gpt-4o-mini"
    training_file = factory.django.FileField(filename="train.jsonl", data=VALID_LINE)
    training_file_name = "train.jsonl"
    provider = "local"
