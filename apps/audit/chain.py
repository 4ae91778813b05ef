"""The hash chain that makes the audit log tamper-evident.

Every entry stores `hash = HMAC-SHA256(AUDIT_CHAIN_KEY, canonical content)`,
where the content includes the chain, the entry's seq and the previous entry's
hash. Editing a row changes its hash; removing or inserting one breaks the
seq/prev_hash link of the next. With `AUDIT_CHAIN_KEY` set (and kept out of
the database), even someone who can write to the database cannot recompute a
consistent chain after an edit.

Writers of one chain are serialized by a row lock on its head (`AuditChain`),
taken inside the writer's transaction, so concurrent requests never fork it.
"""

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from .models import GENESIS_HASH, PLATFORM_CHAIN, AuditChain, AuditEntry, chain_key_of


def lock_chain(organization_id) -> AuditChain:
    """Lock (creating it if need be) the head of a chain until the transaction ends."""
    key = chain_key_of(organization_id)
    head = AuditChain.objects.select_for_update().filter(pk=key).first()
    if head is None:
        # Sealed from the start: a lock taken with nothing written after it leaves a valid head.
        new = AuditChain(key=key)
        new.seal = head_seal(new)
        AuditChain.objects.bulk_create([new], ignore_conflicts=True)
        head = AuditChain.objects.select_for_update().get(pk=key)
    return head


def normalized_json(value):
    """`value` as it reads back from a JSON column, so that its hash can be recomputed.

    PostgreSQL's jsonb keeps numbers as decimals: an integral float such as 1e20
    reads back as an int, so it is stored as one.
    """
    if value is None:
        return None
    return _integral_floats_as_ints(json.loads(json.dumps(value, cls=DjangoJSONEncoder)))


def _integral_floats_as_ints(value):
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_integral_floats_as_ints(item) for item in value]
    if isinstance(value, dict):
        return {key: _integral_floats_as_ints(item) for key, item in value.items()}
    return value


def _timestamp(value) -> str:
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _id(value) -> str | None:
    return str(value) if value is not None else None


# The columns canonical_content covers: all an entry says (the admin shows exactly these).
HASHED_COLUMNS = (
    "organization_id",
    "seq",
    "prev_hash",
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
)


def canonical_content(entry: AuditEntry) -> dict:
    """Every column of an entry that its hash covers."""
    return {
        "chain": entry.chain_key,
        "seq": entry.seq,
        "prev_hash": entry.prev_hash,
        "timestamp": _timestamp(entry.timestamp),
        "event": entry.event,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "object_pk": entry.object_pk,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "additional_data": entry.additional_data,
        "actor": _id(entry.actor_id),
        "actor_email": entry.actor_email or "",
        "api_key": _id(entry.api_key_id),
        "api_key_prefix": entry.api_key_prefix,
        "remote_addr": entry.remote_addr or "",
        "user_agent": entry.user_agent,
        "request_id": entry.cid or "",
        "task": entry.task,
    }


def keyed_hmac(message: str) -> str:
    """HMAC-SHA256 of `message` under AUDIT_CHAIN_KEY: entries, heads and checkpoints."""
    key = (settings.AUDIT_CHAIN_KEY or "").encode()
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def entry_hash(content: dict) -> str:
    return keyed_hmac(
        json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    )


def head_seal(head: AuditChain) -> str:
    """The HMAC that binds a chain head's two ends to the chain key."""
    ends = [head.key, head.last_seq, head.last_hash, head.base_seq, head.base_hash]
    return keyed_hmac("head:" + json.dumps(ends, separators=(",", ":")))


def seal_head(head: AuditChain, *fields: str) -> None:
    """Save the head's `fields`, sealed."""
    head.seal = head_seal(head)
    AuditChain.objects.filter(pk=head.pk).update(
        seal=head.seal, **{name: getattr(head, name) for name in fields}
    )


def append(entries: list[AuditEntry]) -> None:
    """Fill in the context of `entries`, chain them and insert them.

    Entries of several chains lock the heads in a fixed order, so that two
    writers can never wait on each other.
    """
    from .context import fill_from_context

    by_chain: dict[str, list[AuditEntry]] = {}
    for entry in entries:
        fill_from_context(entry)
        entry.object_pk = "" if entry.object_pk is None else str(entry.object_pk)
        entry.changes = normalized_json(entry.changes)
        entry.additional_data = normalized_json(entry.additional_data)
        by_chain.setdefault(entry.chain_key, []).append(entry)
    if connection.vendor == "postgresql" and connection.in_atomic_block:
        # Foreign keys are checked at commit by default, which would take their locks on
        # the referenced rows after this chain's head: a writer holding such a row and
        # waiting for the head would deadlock with us. Checked now, every lock of the
        # transaction is taken before the head's (and later writes check at once too).
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    # No savepoint: an entry that cannot be written must fail the change it records.
    with transaction.atomic(savepoint=False):
        for key in sorted(by_chain):
            chain_entries = by_chain[key]
            head = lock_chain(chain_entries[0].organization_id)
            now = timezone.now()
            for entry in chain_entries:
                head.last_seq += 1
                entry.seq = head.last_seq
                entry.prev_hash = head.last_hash
                entry.timestamp = now
                entry.hash = entry_hash(canonical_content(entry))
                head.last_hash = entry.hash
            AuditEntry.objects.bulk_create(chain_entries)
            seal_head(head, "last_seq", "last_hash")
    for entry in entries:
        entry._state.adding = False


@dataclass(frozen=True)
class ChainBreak:
    """The first entry at which a chain stops verifying, and why."""

    seq: int
    entry_id: int | None
    problem: str

    def __str__(self):
        where = f"entry {self.entry_id} (seq {self.seq})" if self.entry_id else f"seq {self.seq}"
        return f"{where}: {self.problem}"


class ChainVerifier:
    """Walks one chain's entries in seq order from a known (seq, hash); stops at the first break."""

    def __init__(self, *, start_seq: int = 0, start_hash: str = GENESIS_HASH):
        self.last_seq, self.last_hash = start_seq, start_hash
        self.last_id = None
        self.checked = 0

    def check(self, entry: AuditEntry) -> ChainBreak | None:
        expected_seq = self.last_seq + 1
        if entry.seq < expected_seq:
            return ChainBreak(entry.seq, entry.pk, f"seq {entry.seq} appears twice (inserted)")
        if entry.seq > expected_seq:
            return ChainBreak(
                expected_seq,
                None,  # the missing entries have no id; the message names where the chain resumes
                f"entries with seq {expected_seq}..{entry.seq - 1} are missing (removed); "
                f"the chain resumes at entry {entry.pk} (seq {entry.seq})",
            )
        if entry.prev_hash != self.last_hash:
            return ChainBreak(
                entry.seq,
                entry.pk,
                "does not follow the previous entry (inserted, or the previous one was replaced)",
            )
        if entry_hash(canonical_content(entry)) != entry.hash:
            return ChainBreak(entry.seq, entry.pk, "content does not match its hash (altered)")
        self.last_seq, self.last_hash, self.last_id = entry.seq, entry.hash, entry.pk
        self.checked += 1
        return None

    def check_end(self, head: AuditChain | None) -> ChainBreak | None:
        """Whether the walk ended where the chain's head says the chain ends."""
        if head is None:
            if self.checked:
                return ChainBreak(self.last_seq, None, "the chain's head record is missing")
            return None
        if not hmac.compare_digest(head.seal, head_seal(head)):
            return ChainBreak(
                head.last_seq,
                None,
                "the chain's head (its last or first kept entry) was changed without the chain "
                "key (entries removed or added, and the head moved to hide it)",
            )
        if self.last_seq < head.last_seq:
            return ChainBreak(
                self.last_seq + 1,
                None,
                f"entries with seq {self.last_seq + 1}..{head.last_seq} are missing at the end "
                "(removed)",
            )
        if self.last_hash != head.last_hash:
            return ChainBreak(
                self.last_seq, self.last_id, "the last entry is not the one the head records"
            )
        return None


def verify_chain(organization_id, *, must_exist: bool = False) -> tuple[int, ChainBreak | None]:
    """Verify one chain in the database: (entries checked, first break or None).

    `must_exist`: the chain has to have entries (an existing organization's
    creation was recorded), so an emptied chain is a break, not an empty success.
    """
    head = AuditChain.objects.filter(pk=chain_key_of(organization_id)).first()
    if head is None and must_exist:
        return 0, ChainBreak(0, None, "no entries and no chain head at all (removed)")
    verifier = ChainVerifier(
        start_seq=head.base_seq if head else 0, start_hash=head.base_hash if head else GENESIS_HASH
    )
    entries = (
        AuditEntry.objects.filter(organization_id=organization_id)
        .order_by("seq", "id")
        .iterator(chunk_size=2000)
    )
    for entry in entries:
        if chain_break := verifier.check(entry):
            return verifier.checked, chain_break
    return verifier.checked, verifier.check_end(head)


def entry_from_archive(record: dict) -> AuditEntry:
    """An (unsaved) entry rebuilt from a retention archive's line, to verify it.

    Raises KeyError, TypeError or ValueError for a line that is not an archived entry.
    """
    chain, seq = record["chain"], record["seq"]
    if not isinstance(chain, str) or not isinstance(seq, int) or isinstance(seq, bool):
        raise TypeError("chain must be a string and seq a whole number")
    return AuditEntry(
        id=record["id"],
        organization_id=None if chain == PLATFORM_CHAIN else chain,
        seq=record["seq"],
        prev_hash=record["prev_hash"],
        hash=record["hash"],
        timestamp=datetime.fromisoformat(record["timestamp"]),
        event=record["event"],
        action=record["action"],
        resource_type=record["resource_type"],
        object_pk=record["object_pk"],
        object_repr=record["object_repr"],
        changes=record["changes"],
        additional_data=record["additional_data"],
        actor_id=record["actor"],
        actor_email=record["actor_email"],
        api_key_id=record["api_key"],
        api_key_prefix=record["api_key_prefix"],
        remote_addr=record["remote_addr"],
        user_agent=record["user_agent"],
        cid=record["request_id"],
        task=record["task"],
    )
