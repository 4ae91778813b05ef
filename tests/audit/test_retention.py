"""Retention archives old entries, then removes them, and the chains stay verifiable.

Entries are made "old" by running retention at a later `now` (the cutoff is
`now - AUDIT_RETENTION_DAYS`), never by editing their timestamps.
"""

import gzip
import json
import time
from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import DatabaseError, connection, transaction
from django.test import override_settings
from django.utils import timezone

from apps.audit import tasks
from apps.audit.chain import canonical_content
from apps.audit.models import GENESIS_HASH, PLATFORM_CHAIN, AuditChain, AuditEntry
from apps.audit.services import audit_retention_apply
from apps.organizations.models import BuiltinRole
from config.celery import app as celery_app

from ..factories import MembershipFactory
from .conftest import verify

pytestmark = pytest.mark.django_db

TABLE = AuditEntry._meta.db_table


def agents_url(slug):
    return f"/api/v1/orgs/{slug}/agents/"


def write_agents(client, slug: str, *names: str) -> None:
    for name in names:
        response = client.post(agents_url(slug), {"name": name, "model_name": "m"}, format="json")
        assert response.status_code == 201, response.content
        renamed = client.patch(f"{agents_url(slug)}{response.json()['id']}/", {"description": "d"})
        assert renamed.status_code == 200


def chain_of(organization_id) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization_id=organization_id).order_by("seq"))


RETENTION_EVENT = "audit_log.retention_applied"


def edit_in_place(entry_id: int, **values) -> None:
    """Tamper with an entry as a database superuser can (past the PostgreSQL trigger)."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"UPDATE {TABLE} SET {assignments} WHERE id = %s", [*values.values(), entry_id]
        )
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")


def kept_of(organization_id) -> list[AuditEntry]:
    """The chain's entries but the retention events that retention itself appends."""
    return [entry for entry in chain_of(organization_id) if entry.event != RETENTION_EVENT]


def head_of(organization_id) -> AuditChain:
    return AuditChain.objects.get(pk=str(organization_id) if organization_id else PLATFORM_CHAIN)


def when_older_than(moment) -> object:
    """The `now` at which retention finds everything written before `moment` expired."""
    return moment + timedelta(days=settings.AUDIT_RETENTION_DAYS)


def read_archive(name: str) -> list[dict]:
    with storages["audit_archive"].open(name, "rb") as stored:
        return [json.loads(line) for line in gzip.decompress(stored.read()).splitlines()]


def archive_path(name: str) -> str:
    return storages["audit_archive"].path(name)


@pytest.fixture
def globex_client(other_organization, client_for):
    owner = MembershipFactory(organization=other_organization, role=BuiltinRole.OWNER)
    return client_for(owner.user)


@pytest.fixture
def old_and_new(owner_client, globex_client, organization, other_organization):
    """Entries in acme, globex and the platform, then a moment, then newer entries in each."""
    write_agents(owner_client, "acme", "Old one", "Old two", "Old three")
    write_agents(globex_client, "globex", "Old globex")
    time.sleep(0.002)
    moment = timezone.now()
    time.sleep(0.002)
    old = {
        key: chain_of(key)
        for key in (organization.pk, other_organization.pk, None)  # None: the platform
    }
    write_agents(owner_client, "acme", "New one")
    write_agents(globex_client, "globex", "New globex")
    MembershipFactory(organization=organization, role=BuiltinRole.VIEWER)  # a new platform user
    new = {key: chain_of(key)[len(entries) :] for key, entries in old.items()}
    assert all(old.values())
    assert all(new.values())
    return old, new, when_older_than(moment)


def test_retention_archives_then_removes_the_old_prefix_of_each_chain(old_and_new):
    old, new, later = old_and_new

    report = audit_retention_apply(now=later, batch_size=3)

    removed = [entry for entries in old.values() for entry in entries]
    assert report.removed == len(removed)
    archived = [record for name in report.archives for record in read_archive(name)]
    assert sorted(record["id"] for record in archived) == sorted(entry.pk for entry in removed)
    assert not AuditEntry.objects.filter(pk__in=[entry.pk for entry in removed]).exists()
    for key, kept in new.items():
        assert kept_of(key) == kept


def test_archives_hold_every_hashed_column_of_each_removed_entry(old_and_new, organization):
    old, _new, later = old_and_new
    by_id = {entry.pk: entry for entries in old.values() for entry in entries}

    report = audit_retention_apply(now=later, batch_size=3)

    for name in report.archives:
        for record in read_archive(name):
            entry = by_id[record["id"]]
            assert record == {**canonical_content(entry), "id": entry.pk, "hash": entry.hash}


def test_batches_are_archived_one_file_per_run_of_a_chain(old_and_new, organization):
    old, _new, later = old_and_new
    acme_old = old[organization.pk]
    assert len(acme_old) > 6

    report = audit_retention_apply(now=later, batch_size=3)

    acme_archives = sorted(
        name for name in report.archives if name.startswith(f"{organization.pk}/")
    )
    expected = [
        f"{organization.pk}/{batch[0].seq:012d}-{batch[-1].seq:012d}.jsonl.gz"
        for batch in (acme_old[i : i + 3] for i in range(0, len(acme_old), 3))
    ]
    assert acme_archives == expected
    assert all(len(read_archive(name)) <= 3 for name in report.archives)
    assert any(name.startswith(f"{PLATFORM_CHAIN}/") for name in report.archives)


def test_chain_heads_record_where_the_kept_entries_start(old_and_new):
    old, new, later = old_and_new

    audit_retention_apply(now=later, batch_size=3)

    for key, removed in old.items():
        head = head_of(key)
        assert (head.base_seq, head.base_hash) == (removed[-1].seq, removed[-1].hash)
        assert new[key][0].prev_hash == head.base_hash
        # The chain's last entry says where retention cut it.
        recorded = chain_of(key)[-1]
        assert (head.last_seq, head.last_hash) == (recorded.seq, recorded.hash)
        assert recorded.event == RETENTION_EVENT
        assert recorded.additional_data["removed"] == len(removed)
        assert recorded.additional_data["kept_from_seq"] == removed[-1].seq + 1
        assert recorded.additional_data["base_hash"] == removed[-1].hash


def test_log_still_verifies_after_retention(old_and_new, organization, other_organization):
    _old, new, later = old_and_new

    audit_retention_apply(now=later, batch_size=3)

    output, error = verify()
    assert error is None, output
    # Each chain also gained the entry that records its retention.
    assert set(output.splitlines()) == {
        f"acme: OK, {len(new[organization.pk]) + 1} entries verified",
        f"globex: OK, {len(new[other_organization.pk]) + 1} entries verified",
        f"platform: OK, {len(new[None]) + 1} entries verified",
    }


def test_removing_the_first_kept_entry_is_still_caught_after_retention(old_and_new, organization):
    _old, new, later = old_and_new
    audit_retention_apply(now=later, batch_size=3)
    first_kept = new[organization.pk][0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [first_kept.pk])
        if connection.vendor == "postgresql":
            cursor.execute("SET session_replication_role = DEFAULT")

    output, error = verify("--org", "acme")

    assert error is not None
    assert f"entries with seq {first_kept.seq}..{first_kept.seq} are missing (removed)" in output


def test_archives_verify_and_say_the_kept_entries_start_from_their_last_hash(
    old_and_new, organization
):
    old, _new, later = old_and_new
    report = audit_retention_apply(now=later, batch_size=3)
    acme = [name for name in report.archives if name.startswith(f"{organization.pk}/")]
    removed = old[organization.pk]

    output, error = verify("--archive", *(archive_path(name) for name in reversed(acme)))

    assert error is None, output
    assert output.splitlines() == [
        f"Archives OK: seq 1..{removed[-1].seq} of chain {organization.pk}, "
        f"last hash {removed[-1].hash}",
        "The kept entries start from this hash.",
    ]


def test_tampered_archive_line_is_reported(old_and_new, organization):
    _old, _new, later = old_and_new
    report = audit_retention_apply(now=later, batch_size=3)
    name = next(name for name in report.archives if name.startswith(f"{organization.pk}/"))
    records = read_archive(name)
    records[1]["object_repr"] = "Nothing happened"
    with open(archive_path(name), "wb") as archive:
        archive.write(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))

    _output, error = verify("--archive", archive_path(name))

    assert error is not None
    assert str(error) == (
        f"Archive BROKEN at entry {records[1]['id']} (seq {records[1]['seq']}): "
        "content does not match its hash (altered)."
    )


def test_line_removed_from_an_archive_is_reported(old_and_new, organization):
    _old, _new, later = old_and_new
    report = audit_retention_apply(now=later, batch_size=3)
    name = next(name for name in report.archives if name.startswith(f"{organization.pk}/"))
    records = read_archive(name)
    del records[1]
    with open(archive_path(name), "wb") as archive:
        archive.write(gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records)))

    _output, error = verify("--archive", archive_path(name))

    assert error is not None
    assert "are missing (removed)" in str(error)


def test_archives_of_two_chains_are_refused_together(old_and_new, organization):
    _old, _new, later = old_and_new
    report = audit_retention_apply(now=later, batch_size=100)

    with pytest.raises(CommandError, match="more than one chain"):
        call_command(
            "verify_audit_log", "--archive", *map(archive_path, report.archives), stdout=StringIO()
        )


def test_running_retention_again_removes_nothing(old_and_new):
    _old, new, later = old_and_new
    first = audit_retention_apply(now=later, batch_size=3)
    heads = {head.key: (head.base_seq, head.base_hash) for head in AuditChain.objects.all()}

    second = audit_retention_apply(now=later, batch_size=3)

    assert first.removed > 0
    assert (second.removed, second.archives) == (0, [])
    assert {h.key: (h.base_seq, h.base_hash) for h in AuditChain.objects.all()} == heads
    for key, kept in new.items():
        assert kept_of(key) == kept
    assert AuditEntry.objects.filter(event=RETENTION_EVENT).count() == 3  # one per chain, once


def test_nothing_younger_than_the_retention_period_is_removed(old_and_new):
    count = AuditEntry.objects.count()

    report = audit_retention_apply(now=timezone.now(), batch_size=3)

    assert (report.removed, AuditEntry.objects.count()) == (0, count)
    assert all(head.base_seq == 0 for head in AuditChain.objects.all())


def test_chain_emptied_by_retention_goes_on_verifying_as_entries_follow(owner_client, organization):
    write_agents(owner_client, "acme", "Only old")
    last = chain_of(organization.pk)[-1]

    audit_retention_apply(now=when_older_than(timezone.now() + timedelta(seconds=1)))

    [recorded] = chain_of(organization.pk)
    assert (recorded.event, recorded.seq, recorded.prev_hash) == (
        RETENTION_EVENT,
        last.seq + 1,
        last.hash,
    )
    assert verify("--org", "acme") == ("acme: OK, 1 entries verified\n", None)
    write_agents(owner_client, "acme", "After retention")
    kept = chain_of(organization.pk)
    output, error = verify("--org", "acme")
    assert error is None
    assert output == f"acme: OK, {len(kept)} entries verified\n"


@override_settings(AUDIT_RETENTION_DAYS=0)  # everything written so far has expired
def test_task_applies_retention_and_is_scheduled_daily(old_and_new):
    before = AuditEntry.objects.count()

    removed = tasks.apply_retention.delay().get()

    assert removed == before
    # Only the entries that record the retention of each chain remain.
    assert set(AuditEntry.objects.values_list("event", flat=True)) == {RETENTION_EVENT}
    assert "audit.apply_retention" in celery_app.tasks
    schedule = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "audit.apply_retention"
    ]
    assert len(schedule) == 1
    assert schedule[0]["schedule"] == 24 * 3600


# --- PostgreSQL: the append-only trigger ----------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_retention_deletes_past_the_trigger_which_still_refuses_other_deletes(old_and_new):
    _old, new, later = old_and_new

    report = audit_retention_apply(now=later, batch_size=3)

    assert report.removed > 0
    kept = new[None][0]
    with pytest.raises(DatabaseError, match="append-only"), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [kept.pk])
    assert verify()[1] is None


@pytest.mark.postgres
def test_retention_inside_a_callers_transaction_leaves_deletes_refused(old_and_new):
    """Retention's permission to delete ends with its own batch, not the caller's transaction."""
    _old, new, later = old_and_new

    with transaction.atomic():
        assert audit_retention_apply(now=later, batch_size=3).removed > 0
        kept = new[None][0]
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [kept.pk])
    assert AuditEntry.objects.filter(pk=kept.pk).exists()


@pytest.mark.postgres
def test_trigger_refuses_updates_even_during_retention_setting(old_and_new):
    _old, new, _later = old_and_new
    kept = new[None][0]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL agentry.audit_retention = 'on'")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
            cursor.execute(f"UPDATE {TABLE} SET object_repr = 'x' WHERE id = %s", [kept.pk])


def test_genesis_hash_starts_every_chain(old_and_new):
    old, _new, _later = old_and_new
    for entries in old.values():
        assert (entries[0].seq, entries[0].prev_hash) == (1, GENESIS_HASH)


def test_an_old_entry_after_a_newer_one_stays_so_no_gap_opens(owner_client, organization):
    """A clock that went backwards: retention removes only the unbroken run from the start."""
    write_agents(owner_client, organization.slug, "one", "two", "three")
    entries = chain_of(organization.pk)
    assert [entry.seq for entry in entries] == list(range(1, 9))
    cutoff_moment = entries[-1].timestamp + timedelta(seconds=1)
    # Entry 3 claims to be from the future (written while the clock ran ahead).
    future = (cutoff_moment + timedelta(days=1)).isoformat()
    edit_in_place(entries[2].pk, timestamp=future)

    report = audit_retention_apply(now=when_older_than(cutoff_moment))

    kept = kept_of(organization.pk)
    assert [entry.seq for entry in kept] == [3, 4, 5, 6, 7, 8]
    assert head_of(organization.pk).base_seq == 2
    assert report.removed >= 2
    # Its timestamp was edited in place, which the chain itself reports; nothing else.
    output, error = verify("--org", organization.slug)
    assert error is not None
    assert f"entry {entries[2].pk} (seq 3): content does not match its hash (altered)" in output


def test_a_chain_that_does_not_verify_is_not_archived_so_its_break_stays_visible(
    old_and_new, organization, other_organization
):
    old, new, later = old_and_new
    tampered = old[organization.pk][1]
    edit_in_place(tampered.pk, object_repr="edited")

    report = audit_retention_apply(now=later, batch_size=3)

    assert report.refused == [
        f"{organization.pk}: entry {tampered.pk} (seq {tampered.seq}): "
        "content does not match its hash (altered)"
    ]
    assert chain_of(organization.pk)[: len(old[organization.pk])] == old[organization.pk]
    assert head_of(organization.pk).base_seq == 0
    assert kept_of(other_organization.pk) == new[other_organization.pk]  # the others go on
    output, error = verify("--org", "acme")
    assert error is not None
    assert f"entry {tampered.pk}" in output


@override_settings(AUDIT_RETENTION_DAYS=0)
def test_the_task_fails_loudly_when_it_kept_a_broken_chain(old_and_new, organization):
    tampered = chain_of(organization.pk)[0]
    edit_in_place(tampered.pk, object_repr="edited")

    with pytest.raises(tasks.BrokenChainsKept, match=str(organization.pk)):
        tasks.apply_retention.delay().get()


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x1f\x8b\x08\x00truncated", "Cannot read archive"),
        (gzip.compress(b'{"seq": 1}\n'), "line 1, is not an audit entry"),
        (gzip.compress(b"[1, 2]\n"), "line 1, is not an audit entry"),
        (gzip.compress(b'"text"\n'), "line 1, is not an audit entry"),
        (gzip.compress(b'{"chain": "platform", "seq": "1"}\n'), "is not an audit entry"),
        (gzip.compress(b"not json\n"), "is not an audit entry"),
        (b"plain text, not gzip", "Cannot read archive"),
    ],
)
def test_a_broken_archive_file_is_one_clear_error(tmp_path, db, content, expected):
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(content)

    with pytest.raises(CommandError, match=expected):
        call_command("verify_audit_log", "--archive", str(path), stdout=StringIO())


def test_an_archive_line_with_a_bad_timestamp_is_one_clear_error(old_and_new, tmp_path):
    _old, _new, later = old_and_new
    report = audit_retention_apply(now=later, batch_size=100)
    record = read_archive(report.archives[0])[0]
    path = tmp_path / "bad-time.jsonl.gz"
    path.write_bytes(gzip.compress(json.dumps({**record, "timestamp": "notatime"}).encode()))

    with pytest.raises(CommandError, match="line 1, is not an audit entry"):
        call_command("verify_audit_log", "--archive", str(path), stdout=StringIO())
