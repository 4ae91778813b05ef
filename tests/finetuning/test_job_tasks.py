"""The background run of a job: real Celery tasks on real stored files."""

import json
import logging

import pytest

from apps.finetuning import services
from apps.finetuning.models import FineTuningJob
from apps.finetuning.providers import (
    FineTuningProvider,
    ProviderResult,
    register_provider,
    unregister_provider,
)
from apps.finetuning.tasks import run_finetuning_job
from apps.organizations.models import BuiltinRole

from .conftest import GOOD, VALID_FILE, VALID_STATS, job_url, jobs_url, jsonl, upload
from .factories import FineTuningJobFactory

pytestmark = pytest.mark.django_db

Status = FineTuningJob.Status
BAD_LINE_3 = {
    "invalid JSON": ('{"messages": [', "Line 3: invalid JSON ("),
    "missing messages": ({"prompt": "Hi"}, 'Line 3: missing "messages".'),
    "empty messages": ({"messages": []}, 'Line 3: "messages" must not be empty.'),
    "bad role": (
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "robot", "content": "Yo"}]},
        "Line 3, message 2: role must be one of system, user, assistant, tool.",
    ),
    "empty content": (
        {"messages": [{"role": "user", "content": ""}, {"role": "assistant", "content": "Yo"}]},
        "Line 3, message 1: content must be a non-empty string.",
    ),
    "no assistant": (
        {"messages": [{"role": "user", "content": "Hi"}]},
        "Line 3: needs at least one assistant message.",
    ),
}


def load(body) -> FineTuningJob:
    return FineTuningJob.objects.get(pk=body["id"])


@pytest.fixture
def provider(settings):
    """Register a test provider class as the configured one for the duration of a test."""
    names = []

    def use(provider_class):
        register_provider(provider_class.name, provider_class)
        names.append(provider_class.name)
        settings.FINETUNING_PROVIDER = provider_class.name

    yield use
    for name in names:
        unregister_provider(name)


def test_valid_file_succeeds_with_exact_stats_and_the_local_result(
    create_job, finished_signals, owner_client
):
    body = create_job(hyperparameters=json.dumps({"n_epochs": 2, "batch_size": 2}))
    job = load(body)
    assert job.status == Status.SUCCEEDED
    assert job.validation_stats == VALID_STATS
    assert job.result == {
        "fine_tuned_model": f"gpt-4o-mini:ft-acme-{job.pk.hex[:8]}",
        "trained_tokens": 30,  # 15 estimated tokens x 2 epochs
        "epochs": 2,
        "steps": 4,  # 3 examples in batches of 2 -> 2 steps, x 2 epochs
        "hyperparameters": {"n_epochs": 2, "learning_rate_multiplier": 1.0, "batch_size": 2},
    }
    assert job.error == ""
    assert job.provider == "local"
    assert job.started_at is not None
    assert job.started_at <= job.finished_at
    assert finished_signals == [(job.pk, "succeeded", "acme")]

    shown = owner_client.get(job_url(body)).json()
    assert shown["status"] == "succeeded"
    assert shown["validation_stats"] == VALID_STATS
    assert shown["result"]["fine_tuned_model"] == job.result["fine_tuned_model"]


@pytest.mark.parametrize("variant", list(BAD_LINE_3))
def test_file_with_a_bad_line_3_fails_naming_the_line(create_job, finished_signals, variant):
    line, message = BAD_LINE_3[variant]
    job = load(create_job(content=jsonl(GOOD, GOOD, line, GOOD)))
    assert job.status == Status.FAILED
    assert "Line 3" in job.error
    assert job.error.startswith(message)
    assert job.validation_stats == {"is_valid": False, "error_line": 3, "examples_checked": 2}
    assert job.result == {}
    assert job.finished_at is not None
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_undecodable_bytes_fail_with_the_line_number(create_job, finished_signals):
    job = load(create_job(content=jsonl(GOOD) + b'{"messages": "\xff\xfe"}\n'))
    assert job.status == Status.FAILED
    assert job.error == "Line 2: not valid UTF-8 text (byte 0xff at position 15)."
    assert job.validation_stats["error_line"] == 2
    assert finished_signals == [(job.pk, "failed", "acme")]


@pytest.mark.parametrize("content", [b"", b"\n\n"], ids=["empty", "blank-lines-only"])
def test_file_without_examples_fails(create_job, finished_signals, content):
    job = load(create_job(content=content))
    assert job.status == Status.FAILED
    assert job.error == "The training file has no examples."
    assert job.validation_stats == {"is_valid": False, "error_line": None, "examples_checked": 0}
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_unknown_provider_fails_the_job_with_a_clear_reason(create_job, finished_signals, settings):
    settings.FINETUNING_PROVIDER = "acme-cloud"
    job = load(create_job())
    assert job.provider == "acme-cloud"
    assert job.status == Status.FAILED
    assert job.error == 'Unknown fine-tuning provider "acme-cloud". Known providers: local.'
    assert job.validation_stats == VALID_STATS
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_the_provider_is_the_one_configured_when_the_job_was_created(
    owner_client, settings, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        body = owner_client.post(
            jobs_url(), {"base_model": "m", "training_file": upload()}, format="multipart"
        ).json()
    settings.FINETUNING_PROVIDER = "changed-later"
    for callback in callbacks:
        callback()
    assert load(body).status == Status.SUCCEEDED


def test_a_provider_can_fail_the_job(create_job, finished_signals, provider):
    class Refusing(FineTuningProvider):
        name = "refusing"

        def start(self, *, job, stats):
            return ProviderResult(status="failed", result={"code": 429}, error="Quota exceeded.")

    provider(Refusing)
    job = load(create_job())
    assert (job.status, job.error, job.result) == (Status.FAILED, "Quota exceeded.", {"code": 429})
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_an_unexpected_exception_fails_the_job_generically_and_is_logged(
    create_job, finished_signals, provider, caplog
):
    class Broken(FineTuningProvider):
        name = "broken"

        def start(self, *, job, stats):
            raise RuntimeError("connection reset by secret-host.internal")

    provider(Broken)
    with caplog.at_level(logging.ERROR, logger="apps.finetuning.services"):
        job = load(create_job())
    assert job.status == Status.FAILED
    assert job.error == services.INTERNAL_ERROR
    assert "secret-host" not in job.error
    assert job.finished_at is not None
    assert "failed unexpectedly" in caplog.text
    assert "connection reset" in caplog.text  # the traceback is in the log
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_a_training_file_missing_from_storage_fails_the_job(
    owner_client, finished_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        body = owner_client.post(
            jobs_url(), {"base_model": "m", "training_file": upload()}, format="multipart"
        ).json()
    job = load(body)
    job.training_file.storage.delete(job.training_file.name)
    for callback in callbacks:
        callback()
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, services.INTERNAL_ERROR)
    assert finished_signals == [(job.pk, "failed", "acme")]


def test_cancel_while_queued_wins_and_the_task_then_does_nothing(
    owner_client, finished_signals, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        body = owner_client.post(
            jobs_url(), {"base_model": "m", "training_file": upload()}, format="multipart"
        ).json()
    assert body["status"] == "queued"
    cancelled = owner_client.post(f"{job_url(body)}cancel/")
    assert cancelled.status_code == 200
    for callback in callbacks:
        callback()  # the queued task runs after the cancel
    job = load(body)
    assert job.status == Status.CANCELLED
    assert job.started_at is None
    assert job.validation_stats == {}
    assert job.result == {}
    assert finished_signals == [(job.pk, "cancelled", "acme")]


def test_cancel_during_validation_stops_the_run_before_training(
    create_job, finished_signals, monkeypatch, member_of, organization
):
    editor = member_of(organization, BuiltinRole.EDITOR).user
    real_validate = services.validate_training_file

    def validate_then_get_cancelled(stream):
        job = FineTuningJob.objects.get(status=Status.VALIDATING)
        services.finetuning_job_cancel(job=job, cancelled_by=editor)
        return real_validate(stream)

    monkeypatch.setattr(services, "validate_training_file", validate_then_get_cancelled)
    job = load(create_job())
    assert job.status == Status.CANCELLED
    assert job.started_at is not None
    assert job.result == {}
    assert finished_signals == [(job.pk, "cancelled", "acme")]


def test_cancel_during_training_wins_over_the_provider_result(
    create_job, finished_signals, provider, member_of, organization
):
    editor = member_of(organization, BuiltinRole.EDITOR).user

    class Slow(FineTuningProvider):
        name = "slow"

        def start(self, *, job, stats):
            services.finetuning_job_cancel(
                job=FineTuningJob.objects.get(pk=job.pk), cancelled_by=editor
            )
            return ProviderResult(status="succeeded", result={"fine_tuned_model": "late"})

    provider(Slow)
    job = load(create_job())
    assert job.status == Status.CANCELLED
    assert job.result == {}
    assert job.validation_stats == VALID_STATS
    assert finished_signals == [(job.pk, "cancelled", "acme")]


@pytest.mark.parametrize("status", [Status.VALIDATING, Status.RUNNING])
def test_a_redelivered_run_of_a_job_left_in_progress_fails_it(
    organization, finished_signals, status
):
    job = FineTuningJobFactory(organization=organization, status=status)
    run_finetuning_job(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.error) == (Status.FAILED, services.WORKER_LOST)
    assert finished_signals == [(job.pk, "failed", "acme")]


@pytest.mark.parametrize("status", [Status.SUCCEEDED, Status.FAILED, Status.CANCELLED])
def test_a_run_of_a_finished_job_changes_nothing(organization, finished_signals, status):
    job = FineTuningJobFactory(organization=organization, status=status, error="kept")
    run_finetuning_job(str(job.pk))
    job.refresh_from_db()
    assert (job.status, job.error) == (status, "kept")
    assert finished_signals == []


def test_a_run_of_a_deleted_job_does_nothing(organization, finished_signals):
    job = FineTuningJobFactory(organization=organization)
    job_id = str(job.pk)
    job.delete()
    assert run_finetuning_job(job_id) is None
    assert finished_signals == []


def test_jobs_run_through_the_real_worker(
    celery_worker, wait_for, organization, member_of, client_for, finished_signals
):
    client = client_for(member_of(organization, BuiltinRole.EDITOR).user)
    bodies = {}
    for name, content in (("good", VALID_FILE), ("bad", jsonl(GOOD, GOOD, "{oops", GOOD))):
        response = client.post(
            jobs_url(),
            {"base_model": "gpt-4o-mini", "training_file": upload(content, f"{name}.jsonl")},
            format="multipart",
        )
        assert response.status_code == 201, response.json()
        bodies[name] = response.json()

    def all_finished():
        ids = [body["id"] for body in bodies.values()]
        statuses = FineTuningJob.objects.filter(pk__in=ids).values_list("status", flat=True)
        return all(status in FineTuningJob.FINISHED_STATUSES for status in statuses)

    wait_for(all_finished, message="both fine-tuning jobs to finish on the worker")
    good, bad = load(bodies["good"]), load(bodies["bad"])
    assert good.status == Status.SUCCEEDED
    assert good.validation_stats == VALID_STATS
    assert good.result["fine_tuned_model"] == f"gpt-4o-mini:ft-acme-{good.pk.hex[:8]}"
    assert bad.status == Status.FAILED
    assert bad.error.startswith("Line 3: invalid JSON")
    assert sorted(finished_signals) == sorted(
        [(good.pk, "succeeded", "acme"), (bad.pk, "failed", "acme")]
    )


def test_a_job_that_cannot_be_queued_fails_instead_of_staying_queued(
    create_job, finished_signals, monkeypatch
):
    from kombu.exceptions import OperationalError

    from apps.finetuning import tasks

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.run_finetuning_job, "delay", broker_down)
    body = create_job()
    job = FineTuningJob.objects.get(pk=body["id"])
    assert job.status == FineTuningJob.Status.FAILED
    assert "could not be queued" in job.error
    assert [outcome for _pk, outcome, _org in finished_signals] == ["failed"]
