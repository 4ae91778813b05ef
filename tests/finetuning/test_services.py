"""The services on their own, for callers other than the API (admin, commands, tasks)."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError

from apps.finetuning import services
from apps.finetuning.hyperparameters import clean_hyperparameters
from apps.finetuning.models import FineTuningJob

from .conftest import VALID_FILE
from .factories import FineTuningJobFactory

pytestmark = pytest.mark.django_db

Status = FineTuningJob.Status


def create(organization, **overrides):
    arguments = {
        "organization": organization,
        "created_by": None,
        "base_model": "gpt-4o-mini",
        "training_file": ContentFile(VALID_FILE, name="train.jsonl"),
        "hyperparameters": None,
        **overrides,
    }
    return services.finetuning_job_create(**arguments)


def test_create_checks_every_input_itself(organization, stored_files):
    with pytest.raises(ValidationError) as caught:
        create(
            organization,
            base_model="",
            training_file=None,
            hyperparameters={"n_epochs": 0},
        )
    assert caught.value.message_dict == {
        "base_model": ["This field is required."],
        "training_file": ["This field is required."],
        "hyperparameters": ["n_epochs must be an integer from 1 to 50."],
    }
    with pytest.raises(ValidationError) as too_long:
        create(organization, base_model="m" * 101, hyperparameters=[("n_epochs", 3)])
    assert too_long.value.message_dict == {
        "base_model": ["Ensure this field has no more than 100 characters."],
        "hyperparameters": ['Must be a JSON object, such as {"n_epochs": 3}.'],
    }
    assert not FineTuningJob.objects.exists()
    assert stored_files() == []


def test_create_without_hyperparameters_stores_an_empty_object(organization):
    job = create(organization)
    assert job.hyperparameters == {}
    assert job.status == Status.QUEUED


def test_create_leaves_no_file_behind_when_the_row_cannot_be_written(
    organization, stored_files, monkeypatch
):
    def fail(*args, **kwargs):
        raise IntegrityError("simulated")

    monkeypatch.setattr(FineTuningJob, "save", fail)
    with pytest.raises(IntegrityError):
        create(organization)
    assert stored_files() == []


def test_string_learning_rate_is_refused():
    with pytest.raises(ValidationError) as caught:
        clean_hyperparameters({"learning_rate_multiplier": "0.5"})
    assert caught.value.message_dict["hyperparameters"] == [
        "learning_rate_multiplier must be a number greater than 0 and at most 10."
    ]
    assert clean_hyperparameters({"learning_rate_multiplier": 0.5}) == {
        "learning_rate_multiplier": 0.5
    }


def test_a_run_that_loses_the_race_to_a_cancel_before_starting_does_nothing(
    organization, owner, finished_signals
):
    job = FineTuningJobFactory(organization=organization)
    stale = FineTuningJob.objects.select_related("organization").get(pk=job.pk)
    services.finetuning_job_cancel(job=job, cancelled_by=owner.user)
    services._validate_and_train(stale)
    job.refresh_from_db()
    assert (job.status, job.started_at) == (Status.CANCELLED, None)
    assert finished_signals == [(job.pk, "cancelled", "acme")]


def test_deleting_a_job_already_deleted_is_not_an_error(organization):
    job = FineTuningJobFactory(organization=organization, status=Status.FAILED)
    FineTuningJob.objects.filter(pk=job.pk).delete()
    services.finetuning_job_delete(job=job)
    assert not FineTuningJob.objects.exists()
