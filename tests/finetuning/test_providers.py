"""The provider interface: the registry by name and what the local provider reports."""

import io

import pytest

from apps.finetuning.models import FineTuningJob
from apps.finetuning.providers import (
    FineTuningProvider,
    LocalProvider,
    ProviderResult,
    UnknownProviderError,
    get_provider,
    register_provider,
    unregister_provider,
)
from apps.finetuning.validation import validate_training_file

from .conftest import VALID_FILE
from .factories import FineTuningJobFactory

pytestmark = pytest.mark.django_db


def test_local_provider_is_registered_by_default():
    assert isinstance(get_provider("local"), LocalProvider)


def test_unknown_provider_names_the_known_ones():
    with pytest.raises(UnknownProviderError) as caught:
        get_provider("acme-cloud")
    assert str(caught.value) == (
        'Unknown fine-tuning provider "acme-cloud". Known providers: local.'
    )


def test_a_registered_provider_is_found_by_name():
    class Echo(FineTuningProvider):
        name = "echo"

        def start(self, *, job, stats):
            return ProviderResult(status="succeeded", result={"examples": stats.examples})

    register_provider("echo", Echo)
    try:
        assert isinstance(get_provider("echo"), Echo)
    finally:
        unregister_provider("echo")
    with pytest.raises(UnknownProviderError):
        get_provider("echo")


@pytest.mark.parametrize("status", ["running", "cancelled", "queued", "done"])
def test_a_provider_must_end_a_job_succeeded_or_failed(status):
    with pytest.raises(ValueError, match="succeeded or failed"):
        ProviderResult(status=status)


def test_local_provider_derives_its_result_from_stats_and_defaults(organization):
    job = FineTuningJobFactory(organization=organization, base_model="llama-3-8b")
    stats = validate_training_file(io.BytesIO(VALID_FILE))
    outcome = LocalProvider().start(job=job, stats=stats)
    assert outcome.status == FineTuningJob.Status.SUCCEEDED
    assert outcome.error == ""
    assert outcome.result == {
        "fine_tuned_model": f"llama-3-8b:ft-acme-{job.pk.hex[:8]}",
        "trained_tokens": 45,  # 15 estimated tokens x 3 epochs
        "epochs": 3,
        "steps": 9,  # 3 examples in batches of 1, x 3 epochs
        "hyperparameters": {"n_epochs": 3, "learning_rate_multiplier": 1.0, "batch_size": 1},
    }
