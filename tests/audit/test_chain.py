"""The hash chain catches every edit, removal and insertion made directly in the database.

Each test builds an organization's chain through real API calls, then changes the
entries table with raw SQL, as someone with database access would (on PostgreSQL
the append-only trigger is bypassed the way a superuser could), and runs
`manage.py verify_audit_log`.
"""

import contextlib
import json
import os
import subprocess
import sys
import uuid
from io import StringIO
from pathlib import Path

import pytest
from auditlog.context import disable_auditlog as auditlog_disabled
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import override_settings

from apps.audit.chain import canonical_content, entry_hash, seal_head, verify_chain
from apps.audit.events import ROLE_CHANGED, record_event
from apps.audit.models import AuditChain, AuditEntry
from apps.audit.services import audit_checkpoint_write
from apps.organizations.models import BuiltinRole

from ..factories import MembershipFactory
from .conftest import verify

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
TABLE = AuditEntry._meta.db_table
COPIED_COLUMNS = (
    "timestamp",
    "event",
    "action",
    "resource_type",
    "object_pk",
    "object_repr",
    "changes",
    "additional_data",
    "actor_id",
    "actor_email",
    "api_key_id",
    "api_key_prefix",
    "remote_addr",
    "user_agent",
    "cid",
    "task",
    "organization_id",
    "content_type_id",
    "changes_text",
)


# --- Tampering, as someone with database access would do it -------------------------------


@contextlib.contextmanager
def raw_cursor():
    """A cursor that writes the entries table past the append-only trigger (PostgreSQL)."""
    postgres = connection.vendor == "postgresql"
    with connection.cursor() as cursor:
        if postgres:
            cursor.execute("SET session_replication_role = replica")
        try:
            yield cursor
        finally:
            if postgres:
                cursor.execute("SET session_replication_role = DEFAULT")


def json_placeholder() -> str:
    return "CAST(%s AS jsonb)" if connection.vendor == "postgresql" else "%s"


def raw_update(entry_id: int, **values) -> None:
    assignments, params = [], []
    for column, value in values.items():
        if column in ("changes", "additional_data"):
            assignments.append(f"{column} = {json_placeholder()}")
            params.append(json.dumps(value))
        else:
            assignments.append(f"{column} = %s")
            params.append(value)
    with raw_cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET {', '.join(assignments)} WHERE id = %s", [*params, entry_id]
        )
        assert cursor.rowcount == 1


def raw_delete(entry_id: int) -> None:
    with raw_cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE} WHERE id = %s", [entry_id])
        assert cursor.rowcount == 1


def raw_copy(entry: AuditEntry, *, seq: int, prev_hash: str, hash: str, **changed) -> int:
    """Insert a forged entry: `entry`'s columns, with the given chain fields; its id."""
    source = ", ".join(COPIED_COLUMNS)
    placeholders = ", ".join(
        f"%s AS {column}" if column in changed else column for column in COPIED_COLUMNS
    )
    params = [changed[column] for column in COPIED_COLUMNS if column in changed]
    with raw_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} ({source}, seq, prev_hash, hash) "
            f"SELECT {placeholders}, %s, %s, %s FROM {TABLE} WHERE id = %s",
            [*params, seq, prev_hash, hash, entry.pk],
        )
    return AuditEntry.objects.get(organization_id=entry.organization_id, seq=seq).pk


# --- The chain under test ------------------------------------------------------------------


def agents_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/agents/"


def write_through_the_api(client, slug="acme") -> None:
    """Create, rename and delete agents: a few entries in the organization's chain."""
    ids = []
    for name in ("Support bot", "Sales bot", "Triage bot"):
        response = client.post(
            agents_url(slug), {"name": name, "model_name": "gpt-4o-mini"}, format="json"
        )
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    for agent_id in ids[:2]:
        renamed = client.patch(f"{agents_url(slug)}{agent_id}/", {"description": "Changed."})
        assert renamed.status_code == 200
    assert client.delete(f"{agents_url(slug)}{ids[2]}/").status_code == 204


def chain_of(organization) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(organization=organization).order_by("seq"))


@pytest.fixture
def acme_chain(owner_client, organization) -> list[AuditEntry]:
    write_through_the_api(owner_client)
    entries = chain_of(organization)
    assert len(entries) >= 8
    assert [entry.seq for entry in entries] == list(range(1, len(entries) + 1))
    return entries


@pytest.fixture
def globex_chain(other_organization, client_for) -> list[AuditEntry]:
    owner = MembershipFactory(organization=other_organization, role=BuiltinRole.OWNER)
    write_through_the_api(client_for(owner.user), slug="globex")
    return chain_of(other_organization)


def assert_broken(output: str, error: CommandError | None, *, label: str = "acme") -> str:
    assert error is not None, output
    assert str(error) == "Audit log verification failed: 1 chain(s) broken."
    broken = [line for line in output.splitlines() if line.startswith(f"{label}: BROKEN at ")]
    assert len(broken) == 1, output
    return broken[0]


# --- An untouched log ---------------------------------------------------------------------


def test_untouched_log_verifies_with_the_count_of_each_chain(acme_chain, globex_chain):
    platform_count = AuditEntry.objects.filter(organization__isnull=True).count()
    assert platform_count > 0  # the users the fixtures created

    output, error = verify()

    assert error is None, output
    lines = output.splitlines()
    assert set(lines) == {
        f"acme: OK, {len(acme_chain)} entries verified",
        f"globex: OK, {len(globex_chain)} entries verified",
        f"platform: OK, {platform_count} entries verified",
    }
    assert len(lines) == 3


def test_one_organization_is_verified_by_slug_or_id(acme_chain, globex_chain, organization):
    by_slug, error = verify("--org", "acme")
    assert error is None
    assert by_slug == f"acme: OK, {len(acme_chain)} entries verified\n"

    by_id, error = verify("--org", str(organization.pk))
    assert error is None
    assert by_id.endswith(f": OK, {len(acme_chain)} entries verified\n")
    assert len(by_id.splitlines()) == 1


def test_platform_chain_is_verified_alone(acme_chain):
    count = AuditEntry.objects.filter(organization__isnull=True).count()

    output, error = verify("--org", "platform")

    assert error is None
    assert output == f"platform: OK, {count} entries verified\n"


def test_unknown_organization_is_one_line_error(acme_chain):
    with pytest.raises(CommandError) as raised:
        call_command("verify_audit_log", "--org", "unknown", stdout=StringIO())
    assert str(raised.value) == "No organization with slug 'unknown'."


def test_security_events_and_changes_share_one_chain(acme_chain, organization, owner):
    record_event(ROLE_CHANGED, organization_id=organization.pk, target=owner, data={"x": 1})
    output, error = verify("--org", "acme")
    assert error is None
    assert output == f"acme: OK, {len(acme_chain) + 1} entries verified\n"


# --- Altered ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("object_repr", "Someone else's bot"),
        ("changes", {"description": ["", "Nothing to see here."]}),
        ("remote_addr", "10.9.8.7"),
        ("actor_email", "scapegoat@example.com"),
        ("event", "delete"),
    ],
)
def test_edited_entry_is_named_as_altered(acme_chain, column, value):
    target = acme_chain[len(acme_chain) // 2]
    raw_update(target.pk, **{column: value})

    line = assert_broken(*verify("--org", "acme"))

    assert line.startswith(f"acme: BROKEN at entry {target.pk} (seq {target.seq}): ")
    assert "content does not match its hash (altered)" in line


def test_edited_timestamp_is_named_as_altered(acme_chain):
    target = acme_chain[2]
    with raw_cursor() as cursor:
        cursor.execute(
            f"UPDATE {TABLE} SET timestamp = %s WHERE id = %s",
            [acme_chain[0].timestamp, target.pk],
        )

    line = assert_broken(*verify("--org", "acme"))

    assert f"entry {target.pk} (seq {target.seq})" in line
    assert "(altered)" in line


@pytest.fixture
def chain_key(settings):
    """A secret chain key, set before anything of the test is written."""
    settings.AUDIT_CHAIN_KEY = "the-key-kept-out-of-the-database"
    return settings.AUDIT_CHAIN_KEY


def test_edit_with_hash_recomputed_under_a_guessed_key_is_caught(
    chain_key, owner_client, organization
):
    write_through_the_api(owner_client)
    entries = chain_of(organization)
    last = entries[-1]
    last.object_repr = "Innocent bot"
    with override_settings(AUDIT_CHAIN_KEY="a-guessed-key"):
        forged_hash = entry_hash(canonical_content(last))
    # The forger rewrites the entry and the chain's head consistently, except for the key.
    raw_update(last.pk, object_repr=last.object_repr, hash=forged_hash)
    AuditChain.objects.filter(pk=str(organization.pk)).update(last_hash=forged_hash)

    line = assert_broken(*verify("--org", "acme"))

    assert line.startswith(f"acme: BROKEN at entry {last.pk} (seq {last.seq}): ")
    assert "(altered)" in line


def test_same_forgery_with_the_real_key_would_pass_so_the_key_is_what_protects(
    chain_key, owner_client, organization
):
    """Control for the test above: its forgery is complete but for the key."""
    write_through_the_api(owner_client)
    last = chain_of(organization)[-1]
    last.object_repr = "Innocent bot"
    forged_hash = entry_hash(canonical_content(last))
    raw_update(last.pk, object_repr=last.object_repr, hash=forged_hash)
    head = AuditChain.objects.get(pk=str(organization.pk))
    head.last_hash = forged_hash
    seal_head(head, "last_hash")

    output, error = verify("--org", "acme")

    assert error is None, output


# --- Removed ------------------------------------------------------------------------------


def test_removed_middle_entry_names_the_missing_seq_and_where_the_chain_resumes(acme_chain):
    removed, following = acme_chain[3], acme_chain[4]
    raw_delete(removed.pk)

    line = assert_broken(*verify("--org", "acme"))

    assert (
        f"entries with seq {removed.seq}..{removed.seq} are missing (removed); "
        f"the chain resumes at entry {following.pk} (seq {following.seq})"
    ) in line
    # The entry the chain resumes at is not labelled with the seq of the missing one.
    assert f"entry {following.pk} (seq {removed.seq})" not in line


def test_removed_run_of_entries_names_the_whole_range(acme_chain):
    for entry in acme_chain[2:5]:
        raw_delete(entry.pk)

    line = assert_broken(*verify("--org", "acme"))

    assert "entries with seq 3..5 are missing (removed)" in line
    assert f"resumes at entry {acme_chain[5].pk} (seq 6)" in line


def test_removed_first_entry_is_caught(acme_chain):
    raw_delete(acme_chain[0].pk)

    line = assert_broken(*verify("--org", "acme"))

    assert "entries with seq 1..1 are missing (removed)" in line


def test_removed_last_entry_is_reported_missing_at_the_end(acme_chain):
    last = acme_chain[-1]
    raw_delete(last.pk)

    line = assert_broken(*verify("--org", "acme"))

    assert f"entries with seq {last.seq}..{last.seq} are missing at the end (removed)" in line
    assert f"({len(acme_chain) - 1} verified before)" in line


# --- Inserted -----------------------------------------------------------------------------


def test_forged_entry_appended_with_a_made_up_hash_is_named(acme_chain):
    last = acme_chain[-1]
    forged_id = raw_copy(
        last, seq=last.seq + 1, prev_hash=last.hash, hash="f" * 64, object_repr="Forged"
    )

    line = assert_broken(*verify("--org", "acme"))

    assert line.startswith(f"acme: BROKEN at entry {forged_id} (seq {last.seq + 1}): ")
    assert "(altered)" in line


def test_forged_entry_appended_with_a_valid_hash_is_named_at_the_end(acme_chain):
    """Without the key (or with it leaked), a forger can hash an entry; the head still disagrees."""
    last = acme_chain[-1]
    forged = AuditEntry.objects.get(pk=last.pk)
    forged.seq, forged.prev_hash, forged.object_repr = last.seq + 1, last.hash, "Forged"
    forged_id = raw_copy(
        last,
        seq=forged.seq,
        prev_hash=forged.prev_hash,
        hash=entry_hash(canonical_content(forged)),
        object_repr="Forged",
    )

    line = assert_broken(*verify("--org", "acme"))

    assert f"entry {forged_id} (seq {forged.seq})" in line
    assert "the last entry is not the one the head records" in line


def test_forged_entry_inserted_in_the_middle_is_caught(acme_chain):
    at = acme_chain[3]
    with raw_cursor() as cursor:
        # Make room: shift the later entries one seq up (last first: seqs are unique).
        for entry in reversed(acme_chain[4:]):
            cursor.execute(f"UPDATE {TABLE} SET seq = seq + 1 WHERE id = %s", [entry.pk])
    forged_id = raw_copy(at, seq=at.seq + 1, prev_hash=at.hash, hash="e" * 64, object_repr="x")

    line = assert_broken(*verify("--org", "acme"))

    assert line.startswith(f"acme: BROKEN at entry {forged_id} (seq {at.seq + 1}): ")


def test_entry_moved_from_another_chain_is_caught(acme_chain, globex_chain, organization):
    """An entry is bound to its chain: re-labelling one of globex's as acme's next is caught."""
    last, stolen = acme_chain[-1], globex_chain[-1]
    acme_id = organization.pk.hex if connection.vendor == "sqlite" else organization.pk
    raw_update(stolen.pk, organization_id=acme_id, seq=last.seq + 1, prev_hash=last.hash)

    output, error = verify()

    assert error is not None
    assert f"acme: BROKEN at entry {stolen.pk} (seq {last.seq + 1})" in output, output


# --- Several chains -----------------------------------------------------------------------


def test_other_chains_stay_ok_when_one_is_tampered(acme_chain, globex_chain):
    raw_update(acme_chain[1].pk, object_repr="Tampered")
    platform_count = AuditEntry.objects.filter(organization__isnull=True).count()

    output, error = verify()

    line = assert_broken(output, error)
    assert f"entry {acme_chain[1].pk} (seq 2)" in line
    assert f"globex: OK, {len(globex_chain)} entries verified" in output.splitlines()
    assert f"platform: OK, {platform_count} entries verified" in output.splitlines()
    assert len(output.splitlines()) == 3


def test_tampered_platform_chain_is_reported_under_its_name(acme_chain):
    platform_entry = AuditEntry.objects.filter(organization__isnull=True).order_by("seq").first()
    raw_update(platform_entry.pk, actor_email="nobody@example.com")

    output, error = verify()

    line = assert_broken(output, error, label="platform")
    assert f"entry {platform_entry.pk} (seq {platform_entry.seq})" in line
    assert f"acme: OK, {len(acme_chain)} entries verified" in output.splitlines()


# --- The command line ---------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_command_line_exits_1_with_one_line_on_stderr(owner_client, organization):
    write_through_the_api(owner_client)
    target = chain_of(organization)[2]
    raw_update(target.pk, object_repr="Tampered")
    database = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ENV_FILE": "/dev/null",
        "DATABASE_URL": (
            f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
            f"{database['NAME']}"
        ),
        "DATABASE_POOL": "false",
        "AUDIT_CHAIN_KEY": settings.AUDIT_CHAIN_KEY,
    }

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", "verify_audit_log", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    broken = run("--org", "acme")
    assert broken.returncode == 1, broken.stderr
    assert broken.stderr.strip().splitlines() == [
        "CommandError: Audit log verification failed: 1 chain(s) broken."
    ]
    assert f"acme: BROKEN at entry {target.pk} (seq {target.seq})" in broken.stdout

    platform = run("--org", "platform")
    assert platform.returncode == 0, platform.stderr
    assert platform.stdout.startswith("platform: OK, ")


# --- Values that change on their way through a JSON column ----------------------------------

AWKWARD_JSON = {
    "integral floats": [1e20, 1e23, 1.5e300, 1.0, -0.0, 2.0**63],
    "fractions": [0.1, 1 / 3, 5e-324, -2.5e-7, 1.7976931348623157e308],
    "big ints": [2**70, -(2**63)],
    "nested": [[1, [2.5, [None, True, False]]], {"b": {"a": []}, "a": {}}],
    "text": ["Zürich", "東京", "emoji 🧪", "e\u0301", "\u202eevil", "tab\tnew\nline", 'quote"\\'],
    "ключ": "unicode key",
}


def test_awkward_json_and_ipv6_addresses_still_verify_after_reading_back(
    owner_client, organization, client_for, owner
):
    """The canonical hash survives the database's JSON (jsonb reorders keys, renders numbers)."""
    ipv6 = owner_client.post(
        "/api/v1/orgs/acme/tools/",
        {"name": "awkward", "kind": "function", "configuration": AWKWARD_JSON},
        format="json",
        REMOTE_ADDR="2001:0DB8:0000:0000:0000:0000:0000:0001",
    )
    assert ipv6.status_code == 201, ipv6.content
    changed = owner_client.patch(
        f"/api/v1/orgs/acme/tools/{ipv6.json()['id']}/",
        {"configuration": {**AWKWARD_JSON, "nested": [[3e22]]}},
        format="json",
        REMOTE_ADDR="::ffff:192.0.2.1",
    )
    assert changed.status_code == 200, changed.content
    record_event(ROLE_CHANGED, organization_id=organization.pk, target=owner, data=AWKWARD_JSON)
    entries = chain_of(organization)
    tool_entries = [entry for entry in entries if entry.resource_type == "tools.tool"]
    assert [entry.remote_addr for entry in tool_entries] == ["2001:db8::1", "::ffff:192.0.2.1"]
    assert "configuration" in tool_entries[1].changes

    # Read back from the database, each entry still hashes to what it stores.
    for entry in AuditEntry.objects.filter(organization=organization):
        assert entry_hash(canonical_content(entry)) == entry.hash, entry.event
    output, error = verify("--org", "acme")
    assert error is None, output
    assert output == f"acme: OK, {len(entries)} entries verified\n"


# --- Moving the chain's ends to hide removals (needs the key: the head is sealed) ----------


def raw_update_head(organization, **values) -> None:
    assignments = ", ".join(f"{column} = %s" for column in values)
    with raw_cursor() as cursor:
        cursor.execute(
            f"UPDATE {AuditChain._meta.db_table} SET {assignments} WHERE key = %s",
            [*values.values(), str(organization.pk)],
        )
        assert cursor.rowcount == 1


def test_removing_the_oldest_entries_and_moving_the_base_is_caught(acme_chain, organization):
    """What retention does, done by hand without the key: the head's seal gives it away."""
    for entry in acme_chain[:3]:
        raw_delete(entry.pk)
    raw_update_head(organization, base_seq=acme_chain[2].seq, base_hash=acme_chain[2].hash)

    line = assert_broken(*verify("--org", "acme"))

    assert "the chain's head (its last or first kept entry) was changed without the chain key" in (
        line
    )


def test_removing_the_newest_entries_and_moving_the_head_back_is_caught(acme_chain, organization):
    for entry in acme_chain[-2:]:
        raw_delete(entry.pk)
    raw_update_head(organization, last_seq=acme_chain[-3].seq, last_hash=acme_chain[-3].hash)

    line = assert_broken(*verify("--org", "acme"))

    assert "changed without the chain key" in line


def test_emptying_both_tables_is_caught_for_every_organization_that_still_exists(
    acme_chain, organization
):
    with raw_cursor() as cursor:
        cursor.execute(f"DELETE FROM {TABLE}")
        cursor.execute(f"DELETE FROM {AuditChain._meta.db_table}")

    output, error = verify()

    assert error is not None
    assert "acme: BROKEN at seq 0: no entries and no chain head at all (removed)" in output
    assert "platform: BROKEN" in output
    assert "BROKEN" in assert_broken(*verify("--org", "acme"))


def test_an_empty_org_argument_is_one_clear_error(db):
    with pytest.raises(CommandError, match="--org needs a slug"):
        call_command("verify_audit_log", "--org", " ")


def test_verifying_with_another_key_says_the_key_is_probably_wrong(acme_chain):
    with override_settings(AUDIT_CHAIN_KEY="not-the-key-the-entries-were-written-with"):
        output, error = verify()

    assert error is not None
    assert "AUDIT_CHAIN_KEY is probably not the key the entries were written with" in output


def test_a_single_altered_chain_gets_no_key_hint(acme_chain):
    raw_update(acme_chain[0].pk, object_repr="edited")

    output, _error = verify()

    assert "probably not the key" not in output


@pytest.mark.parametrize(
    ("debug", "key", "warned"),
    [(False, "", True), (False, "k" * 40, False), (True, "", False)],
)
def test_production_without_a_chain_key_is_warned_about(settings, debug, key, warned):
    from django.core.checks import run_checks

    settings.DEBUG, settings.AUDIT_CHAIN_KEY = debug, key

    ids = {message.id for message in run_checks()}

    assert ("audit.W001" in ids) is warned


def test_a_chain_head_that_names_no_chain_is_reported_and_the_rest_still_verified(acme_chain):
    with raw_cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AuditChain._meta.db_table} "
            "(key, last_seq, last_hash, base_seq, base_hash, seal) VALUES ('x', 0, '0', 0, '0', '')"
        )

    output, error = verify()

    assert error is not None
    assert "'x': BROKEN: a chain head whose key is neither an organization id nor" in output
    assert "acme: OK" in output


# --- Checkpoints: where chains ended, kept outside the database -----------------------------


def test_rolling_a_chain_back_to_an_earlier_sealed_head_is_caught_by_the_checkpoint(
    owner_client, organization
):
    """An old head row (from a backup, or dead tuples) carries a valid seal: the checkpoint
    written since says the chain went further."""
    write_through_the_api(owner_client)
    earlier = AuditChain.objects.get(pk=str(organization.pk))
    for name in ("Later bot", "Latest bot"):
        created = owner_client.post(agents_url(), {"name": name, "model_name": "m"}, format="json")
        assert created.status_code == 201
    audit_checkpoint_write()
    for entry in chain_of(organization)[earlier.last_seq :]:
        raw_delete(entry.pk)
    raw_update_head(organization, last_seq=earlier.last_seq, last_hash=earlier.last_hash)
    raw_update_head(organization, seal=earlier.seal)
    assert verify_chain(organization.pk)[1] is None  # the rollback fools the chain alone

    output, error = verify("--org", "acme")

    assert error is not None
    assert f"{organization.pk}: BROKEN against checkpoint checkpoints/" in output
    assert "entries after it were removed and the head rolled back" in output


def test_a_chain_erased_entirely_after_a_checkpoint_is_caught(owner_client, organization):
    write_through_the_api(owner_client)
    organization_id = organization.pk
    organization.delete()
    audit_checkpoint_write()
    # Its chain survives its deletion; now erase that too, so nothing says it existed.
    entries = AuditEntry.objects.filter(organization_id=organization_id)
    for entry_id in entries.values_list("pk", flat=True):
        raw_delete(entry_id)
    with raw_cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {AuditChain._meta.db_table} WHERE key = %s", [str(organization_id)]
        )

    output, error = verify()

    assert error is not None
    assert f"{organization_id}: BROKEN against checkpoint" in output
    assert "is gone (removed)" in output


def test_a_clean_log_passes_its_checkpoint_and_a_forged_checkpoint_does_not(acme_chain):
    name = audit_checkpoint_write()
    output, error = verify()
    assert error is None, output
    assert f"checkpoint: OK, no chain ends before {name}" in output

    storage = storages["audit_archive"]
    with storage.open(name, "rb") as stored:
        body = json.loads(stored.read())
    body["chains"][next(iter(body["chains"]))]["seq"] = 1
    storage.delete(name)
    storage.save(name, ContentFile(json.dumps(body)))

    output, error = verify()
    assert error is not None
    assert f"checkpoint: BROKEN: {name} is not sealed with the chain key" in output


def test_checkpoints_are_written_every_ten_minutes(db):
    from apps.audit import tasks
    from config.celery import app as celery_app

    assert tasks.write_checkpoint.name == "audit.write_checkpoint"

    schedule = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "audit.write_checkpoint"
    ]
    assert [entry["schedule"] for entry in schedule] == [600]
    assert "audit.write_checkpoint" in celery_app.tasks


def test_every_hashed_column_changes_the_hash(acme_chain):
    """HASHED_COLUMNS (what the admin shows) is exactly what canonical_content covers."""
    from apps.audit.chain import HASHED_COLUMNS

    entry = acme_chain[1]
    original = entry_hash(canonical_content(entry))
    replacements = {"timestamp": acme_chain[0].timestamp, "changes": {"x": [1, 2]}}
    for column in HASHED_COLUMNS:
        saved = getattr(entry, column)
        value = replacements.get(column, acme_chain[0].organization_id)
        if column not in replacements and column != "organization_id":
            value = 999 if isinstance(saved, int) else f"{saved}-edited"
        setattr(entry, column, value if column != "organization_id" else uuid.uuid4())
        assert entry_hash(canonical_content(entry)) != original, column
        setattr(entry, column, saved)


@pytest.mark.parametrize("body", ['{"chains": {}}', '{"chains": []}', "[]", '"x"', "{}"])
def test_a_checkpoint_file_that_is_not_one_is_reported_not_a_traceback(acme_chain, body):
    storages["audit_archive"].save("checkpoints/29990101T000000000000Z.json", ContentFile(body))

    output, error = verify()

    assert error is not None
    assert "is not sealed with the chain key" in output


def test_an_empty_org_value_is_refused_not_read_as_every_chain(db):
    with pytest.raises(CommandError, match="--org needs a slug"):
        call_command("verify_audit_log", "--org", "", stdout=StringIO())


def test_a_lock_taken_with_nothing_written_after_it_leaves_a_valid_head(db):
    from apps.organizations.models import Organization
    from apps.organizations.services import lock_organization

    with auditlog_disabled():  # an organization from before the audit log, say
        organization = Organization.objects.create(name="Quiet", slug="quiet")
    lock_organization(organization.pk)

    output, error = verify("--org", "quiet")
    assert error is None, output
    assert "quiet: OK, 0 entries verified" in output
