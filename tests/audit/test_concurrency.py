"""Concurrent writers must not fork the chain, and the organization lock never deadlocks with it.

Each thread is a separate client with its own database connection, all writing in
the same organization at once (PostgreSQL: SQLite serializes writers anyway).
"""

import threading
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from rest_framework.test import APIClient

from apps.agents.models import Agent
from apps.audit.chain import verify_chain
from apps.audit.models import AuditChain, AuditEntry
from apps.organizations.models import BuiltinRole

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 8  # below the connection pool's size (10), with the test's own connection
WRITES = 5
TIMEOUT = 90  # seconds: a deadlock (or a lock waited on forever) fails instead of hanging


def client_of(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def run_together(jobs) -> list:
    """Run the callables at the same moment in threads; each returns a list of statuses."""
    barrier = threading.Barrier(len(jobs))
    results, errors = [], []

    def run(job):
        try:
            barrier.wait(timeout=TIMEOUT)
            results.extend(job())
        except Exception as error:  # reported below, with the statuses
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(job,), daemon=True) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=TIMEOUT)
    assert not [thread for thread in threads if thread.is_alive()], "writers are stuck (deadlock?)"
    assert errors == []
    return results


def assert_one_unbroken_chain(organization) -> list[int]:
    seqs = list(
        AuditEntry.objects.filter(organization=organization)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, len(seqs) + 1))  # consecutive: no duplicate, no gap
    head = AuditChain.objects.get(pk=str(organization.pk))
    assert head.last_seq == len(seqs)
    checked, chain_break = verify_chain(organization.pk)
    assert chain_break is None, str(chain_break)
    assert checked == len(seqs)
    out = StringIO()
    call_command("verify_audit_log", "--org", organization.slug, stdout=out)
    assert out.getvalue() == f"{organization.slug}: OK, {len(seqs)} entries verified\n"
    return seqs


@pytest.fixture
def editors(organization, member_of):
    return [member_of(organization, BuiltinRole.EDITOR).user for _ in range(THREADS)]


def test_concurrent_writers_must_not_fork_the_chain(owner, organization, editors):
    before = AuditEntry.objects.filter(organization=organization).count()

    def writes(user):
        def job():
            client, statuses = client_of(user), []
            created = client.post(
                "/api/v1/orgs/acme/agents/",
                {"name": f"Agent of {user.email}", "model_name": "m"},
                format="json",
            )
            statuses.append(created.status_code)
            if created.status_code != 201:
                return statuses
            url = f"/api/v1/orgs/acme/agents/{created.json()['id']}/"
            for i in range(WRITES - 1):
                statuses.append(client.patch(url, {"description": f"v{i}"}).status_code)
            return statuses

        return job

    statuses = run_together([writes(user) for user in editors])

    assert sorted(statuses) == [200] * (THREADS * (WRITES - 1)) + [201] * THREADS
    seqs = assert_one_unbroken_chain(organization)
    assert len(seqs) == before + THREADS * WRITES  # one entry per changed object per request


def test_bulk_and_single_writes_of_one_organization_interleave_without_forking(
    owner, organization, editors
):
    """Entries appended several at a time (a bulk update) and one at a time share the chain."""
    Agent.objects.bulk_create(
        Agent(organization=organization, name=f"bulk {i}", model_name="m") for i in range(10)
    )
    before = AuditEntry.objects.filter(organization=organization).count()

    def bulk(round_):
        def job():
            bulk_agents = Agent.objects.filter(organization=organization, name__startswith="bulk ")
            return [bulk_agents.update(description=round_)]

        return job

    def single(user):
        def job():
            client = client_of(user)
            return [
                client.post(
                    "/api/v1/orgs/acme/agents/", {"name": f"one {user.pk}", "model_name": "m"}
                ).status_code
            ]

        return job

    jobs = [bulk(f"round {i}") for i in range(3)] + [single(u) for u in editors[:5]]
    results = run_together(jobs)

    assert sorted(results, key=str) == sorted([10, 10, 10, *[201] * 5], key=str)
    seqs = assert_one_unbroken_chain(organization)
    assert len(seqs) == before + 3 * 10 + 5  # one entry per changed row


def test_organization_lock_and_audited_writes_do_not_deadlock(
    owner, organization, editors, member_of
):
    """Role changes (which take the organization's lock first) race plain audited writes."""
    members = [member_of(organization, BuiltinRole.VIEWER) for _ in range(THREADS // 2)]

    def change_roles(member):
        def job():
            client, statuses = client_of(owner.user), []
            url = f"/api/v1/orgs/acme/members/{member.pk}/"
            for role in ("editor", "viewer", "admin", "viewer"):
                statuses.append(client.patch(url, {"role": role}).status_code)
            return statuses

        return job

    def write_agents(user):
        def job():
            client, statuses = client_of(user), []
            created = client.post(
                "/api/v1/orgs/acme/agents/", {"name": f"racer {user.pk}", "model_name": "m"}
            )
            statuses.append(created.status_code)
            if created.status_code != 201:
                return statuses
            url = f"/api/v1/orgs/acme/agents/{created.json()['id']}/"
            for i in range(3):
                statuses.append(client.patch(url, {"description": f"d{i}"}).status_code)
            return statuses

        return job

    jobs = [change_roles(member) for member in members]
    jobs += [write_agents(user) for user in editors[: THREADS - len(members)]]
    statuses = run_together(jobs)

    assert set(statuses) <= {200, 201}, statuses
    assert len(statuses) == 4 * len(jobs)
    assert_one_unbroken_chain(organization)
    role_changes = AuditEntry.objects.filter(organization=organization, event="member.role_changed")
    assert role_changes.count() == 4 * len(members)


def test_renaming_an_agent_while_conversations_of_it_are_created_never_deadlocks(
    organization, editors
):
    """A rename locks the agent row, then the chain head; a new conversation of that agent
    must take its foreign-key lock on the agent before the head, not at commit."""
    agent = Agent.objects.create(organization=organization, name="Busy", model_name="m")
    url = f"/api/v1/orgs/{organization.slug}/"

    def renamer(user, number):
        def job():
            client = client_of(user)
            return [
                client.patch(f"{url}agents/{agent.pk}/", {"name": f"Busy {number}-{i}"}).status_code
                for i in range(WRITES)
            ]

        return job

    def chatter(user):
        def job():
            client = client_of(user)
            return [
                client.post(f"{url}conversations/", {"agent": str(agent.pk)}).status_code
                for _ in range(WRITES)
            ]

        return job

    half = THREADS // 2
    jobs = [renamer(user, n) for n, user in enumerate(editors[:half])]
    jobs += [chatter(user) for user in editors[half:]]

    statuses = run_together(jobs)

    assert sorted(set(statuses)) == [200, 201], statuses
    assert_one_unbroken_chain(organization)
