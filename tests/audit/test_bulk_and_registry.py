"""Bulk writes on audited models are audited too: no silent `queryset.update`.

The guard: every audited model's managers are built on `AuditedQuerySet`. Then
what its `update`, `bulk_create` and `bulk_update` record, and the platform's own
bulk paths (keys of a removed member, workflow runs and fine-tuning jobs moving
through their statuses).
"""

from decimal import Decimal

import pytest
from auditlog.registry import auditlog
from django.apps import apps

from apps.agents.models import Agent
from apps.audit.querysets import AuditedQuerySet
from apps.audit.registry import AUDITED_MODELS, audited_models
from apps.finetuning.models import FineTuningJob
from apps.finetuning.tasks import run_finetuning_job
from apps.tools.models import Tool
from apps.workflows import services as workflow_services
from apps.workflows.models import WorkflowRun
from tests.agents.factories import AgentFactory
from tests.apikeys.factories import issue_key
from tests.finetuning.factories import FineTuningJobFactory
from tests.tools.factories import ToolFactory
from tests.workflows.factories import WorkflowFactory, WorkflowRunFactory, definition, step

from .conftest import api_caller, assert_made_by, only, recorded, recorded_by

pytestmark = pytest.mark.django_db

ORG = "/api/v1/orgs/acme"


def last_entry_id() -> int:
    from apps.audit.models import AuditEntry

    return AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0


# --- the guard ----------------------------------------------------------------------


@pytest.mark.parametrize("label", sorted(AUDITED_MODELS))
def test_every_manager_of_an_audited_model_logs_bulk_writes(label):
    """A manager on a plain QuerySet would let `.update()` change rows without an entry."""
    model = apps.get_model(label)

    assert auditlog.contains(model)
    assert issubclass(model._default_manager._queryset_class, AuditedQuerySet)
    for manager in model._meta.managers:
        assert issubclass(manager._queryset_class, AuditedQuerySet), manager.name
    assert isinstance(model._default_manager.all(), AuditedQuerySet)


def test_the_registry_lists_every_audited_model():
    assert [model._meta.label for model in audited_models()] == list(AUDITED_MODELS)
    assert len(audited_models()) == len(AUDITED_MODELS) == 23


def test_related_managers_of_audited_models_log_bulk_writes_too(organization):
    agent = AgentFactory(organization=organization)

    assert isinstance(organization.agents_agent_set.all(), AuditedQuerySet)
    assert isinstance(organization.api_keys.all(), AuditedQuerySet)
    assert isinstance(agent.user_grants.all(), AuditedQuerySet)


# --- update, bulk_create, bulk_update -----------------------------------------------


def test_queryset_update_logs_one_entry_per_changed_row_and_none_for_unchanged_rows(
    organization, other_organization
):
    cool = AgentFactory(organization=organization, name="cool", temperature=Decimal("0.20"))
    warm = AgentFactory(organization=organization, name="warm", temperature=Decimal("0.90"))
    already = AgentFactory(organization=organization, name="already", temperature=Decimal("1.50"))
    AgentFactory(organization=other_organization, name="globex", temperature=Decimal("0.20"))
    before = last_entry_id()

    updated = Agent.objects.filter(organization=organization).update(temperature=Decimal("1.50"))

    assert updated == 3
    entries = recorded(id__gt=before)
    assert {entry.object_pk: entry.changes for entry in entries} == {
        str(cool.pk): {"temperature": ["0.20", "1.50"]},
        str(warm.pk): {"temperature": ["0.90", "1.50"]},
    }
    assert str(already.pk) not in [entry.object_pk for entry in entries]
    for entry in entries:
        assert (entry.event, entry.resource_type) == ("update", "agents.agent")
        assert entry.organization_id == organization.pk
    assert Agent.objects.get(pk=cool.pk).temperature == Decimal("1.50")


def test_queryset_update_of_several_fields_records_only_the_changed_ones(organization):
    agent = AgentFactory(organization=organization, name="Bot", is_active=True)
    before = last_entry_id()

    Agent.objects.filter(pk=agent.pk).update(is_active=True, description="Answers")

    assert only(recorded(id__gt=before)).changes == {"description": ["", "Answers"]}


def test_queryset_update_matching_no_row_logs_nothing(organization):
    AgentFactory(organization=organization, name="Bot")
    before = last_entry_id()

    assert Agent.objects.filter(name="missing").update(description="x") == 0

    assert recorded(id__gt=before) == []


def test_queryset_update_through_a_reverse_relation_filter_works_and_logs(organization):
    """A filter on the nullable side of an outer join (and DISTINCT) cannot be locked as such
    on PostgreSQL; the audited update must still work wherever Django's does."""
    used = ToolFactory(organization=organization, name="used")
    AgentFactory(organization=organization, tools=[used])
    AgentFactory(organization=organization, tools=[used])
    unused = ToolFactory(organization=organization, name="unused")
    before = last_entry_id()

    orphans = Tool.objects.filter(agents__isnull=True).update(description="orphan")
    shared = (
        Tool.objects.filter(agents__organization=organization)
        .distinct()
        .update(description="shared")
    )

    assert (orphans, shared) == (1, 1)
    entries = recorded(id__gt=before)
    assert [(entry.object_pk, entry.changes) for entry in entries] == [
        (str(unused.pk), {"description": ["", "orphan"]}),
        (str(used.pk), {"description": ["", "shared"]}),
    ]


def test_bulk_create_logs_a_create_per_object(organization):
    before = last_entry_id()

    created = Agent.objects.bulk_create(
        [Agent(organization=organization, name=name, model_name="m") for name in ("a", "b")]
    )

    entries = recorded(id__gt=before)
    assert sorted(entry.object_pk for entry in entries) == sorted(str(a.pk) for a in created)
    for entry in entries:
        assert (entry.event, entry.resource_type) == ("create", "agents.agent")
        assert entry.organization_id == organization.pk
        assert entry.changes["name"][0] is None
    assert sorted(entry.changes["name"][1] for entry in entries) == ["a", "b"]


def test_bulk_update_logs_the_objects_whose_values_changed_once(organization):
    renamed = AgentFactory(organization=organization, name="old name")
    untouched = AgentFactory(organization=organization, name="same name")
    renamed.name = "new name"
    before = last_entry_id()

    assert Agent.objects.bulk_update([renamed, untouched], ["name"]) == 2

    entry = only(recorded(id__gt=before))
    assert (entry.event, entry.object_pk) == ("update", str(renamed.pk))
    assert entry.changes == {"name": ["old name", "new name"]}


@pytest.mark.parametrize(
    "options",
    [
        {"ignore_conflicts": True},
        {"update_conflicts": True, "unique_fields": ["id"], "update_fields": ["name"]},
    ],
    ids=["ignore_conflicts", "update_conflicts"],
)
def test_bulk_create_that_skips_conflicts_is_refused_on_audited_models(organization, options):
    agents = [Agent(organization=organization, name="a", model_name="m")]

    with pytest.raises(TypeError, match="audited"):
        Agent.objects.bulk_create(agents, **options)

    assert not Agent.objects.filter(organization=organization).exists()


# --- the platform's own bulk paths ------------------------------------------------------


def test_removing_a_member_revokes_their_keys_with_an_entry_each(owner, organization, member_of):
    leaving = member_of(organization, "editor")
    active, _raw = issue_key(leaving, ["agents:read"], name="active")
    already, _raw = issue_key(leaving, ["agents:read"], name="already revoked")
    already.revoked = True
    already.save()
    kept, _raw = issue_key(owner, ["agents:read"], name="owner's")

    response = api_caller(owner.user, request_id="member-remove").delete(
        f"{ORG}/members/{leaving.pk}/"
    )

    assert response.status_code == 204
    key_entries = recorded_by("member-remove", resource_type="apikeys.apikey")
    entry = only(key_entries)
    assert (entry.event, entry.object_pk) == ("update", str(active.pk))
    assert entry.changes["revoked"] == [False, True]
    assert entry.changes["revoked_at"][0] is None
    assert_made_by(entry, user=owner.user, organization=organization, request_id="member-remove")
    kept.refresh_from_db()
    assert not kept.revoked


def test_using_an_api_key_records_no_change_of_the_key(owner, organization):
    """The key's last use is written on each request, but it is bookkeeping, not a change."""
    key, raw_key = issue_key(owner, ["agents:read"])

    response = api_caller(raw_key=raw_key, request_id="key-read").get(f"{ORG}/agents/")

    assert response.status_code == 200
    key.refresh_from_db()
    assert key.last_used_at is not None
    assert recorded_by("key-read") == []


def run_status_changes(run) -> list:
    return [
        entry.changes["status"]
        for entry in recorded(object_pk=str(run.pk), event="update")
        if "status" in entry.changes
    ]


def test_a_workflow_runs_status_transitions_are_recorded(organization):
    run = WorkflowRunFactory(workflow=WorkflowFactory(organization=organization))

    workflow_services.workflow_run_execute(run_id=str(run.pk))

    assert WorkflowRun.objects.get(pk=run.pk).status == WorkflowRun.Status.SUCCEEDED
    assert run_status_changes(run) == [["queued", "running"], ["running", "succeeded"]]
    progress = [
        entry.changes["step_results"][1]
        for entry in recorded(object_pk=str(run.pk), event="update")
        if "step_results" in entry.changes and "status" not in entry.changes
    ]
    # One progress update, after the only step; step results are recorded as a digest.
    assert len(progress) == 1
    assert progress[0].startswith("hmac-sha256:")
    for entry in recorded(object_pk=str(run.pk), event="update"):
        assert entry.organization_id == organization.pk
        assert entry.resource_type == "workflows.workflowrun"


def test_a_failing_workflow_runs_transitions_record_the_error(organization):
    workflow = WorkflowFactory(
        organization=organization,
        definition=definition(step("explode", kind="fail", config={"message": "Upstream 503"})),
    )
    run = WorkflowRunFactory(workflow=workflow)

    workflow_services.workflow_run_execute(run_id=str(run.pk))

    assert run_status_changes(run) == [["queued", "running"], ["running", "failed"]]
    failed = recorded(object_pk=str(run.pk), event="update")[-1]
    assert failed.changes["failed_step"] == ["", "explode"]
    assert failed.changes["error"] == ["", "Step 'explode' failed: Upstream 503"]


def test_a_finetuning_jobs_status_transitions_are_recorded_with_the_task(
    organization, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    job = FineTuningJobFactory(organization=organization)

    run_finetuning_job.apply(args=[str(job.pk)])

    job.refresh_from_db()
    assert job.status == FineTuningJob.Status.SUCCEEDED
    entries = recorded(object_pk=str(job.pk), event="update")
    assert [entry.changes["status"] for entry in entries if "status" in entry.changes] == [
        ["queued", "validating"],
        ["validating", "running"],
        ["running", "succeeded"],
    ]
    for entry in entries:
        assert entry.organization_id == organization.pk
        assert entry.resource_type == "finetuning.finetuningjob"
        assert entry.task == "finetuning.run_job"


def test_a_bulk_update_locks_and_writes_each_chain_once(organization, other_organization):
    """Per row one entry, but one lock, one insert and one seal of the chain for them all."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    agents = [AgentFactory(organization=organization, name=f"bulk {i}") for i in range(5)]
    AgentFactory(organization=other_organization, name="elsewhere")
    before = last_entry_id()

    with CaptureQueriesContext(connection) as queries:
        Agent.objects.filter(name__startswith="bulk").update(description="changed")

    entries = recorded(id__gt=before)
    assert sorted(entry.object_pk for entry in entries) == sorted(str(a.pk) for a in agents)
    assert [entry.seq for entry in entries] == list(range(entries[0].seq, entries[0].seq + 5))
    statements = [query["sql"] for query in queries.captured_queries]
    assert sum("INSERT INTO" in sql and "audit_auditentry" in sql for sql in statements) == 1
    assert sum('UPDATE "audit_auditchain"' in sql for sql in statements) == 1
