"""Writes of the audit log other than entries: exports and retention."""

import gzip
import hmac
import io
import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import connection, transaction
from django.utils import timezone

from . import events
from .chain import (
    ChainBreak,
    ChainVerifier,
    canonical_content,
    chain_key_of,
    head_seal,
    keyed_hmac,
    lock_chain,
    seal_head,
)
from .models import AuditChain, AuditEntry

logger = logging.getLogger(__name__)

RETENTION_BATCH_SIZE = 5000


def audit_log_export_record(*, organization, file_format: str, filters: dict) -> AuditEntry:
    """Record that the log is being exported; the export covers entries up to this one."""
    return events.record_event(
        events.AUDIT_LOG_EXPORTED,
        organization_id=organization.pk,
        target=organization,
        data={"format": file_format, "filters": filters},
    )


def archive_record(entry: AuditEntry) -> dict:
    """An entry as retention archives it: everything its hash covers, and the hash."""
    return {**canonical_content(entry), "id": entry.pk, "hash": entry.hash}


@dataclass
class RetentionReport:
    cutoff: object
    removed: int = 0
    archives: list[str] = field(default_factory=list)
    # Chains left alone because they do not verify: "label: the break".
    refused: list[str] = field(default_factory=list)


def audit_retention_apply(*, now=None, batch_size: int = RETENTION_BATCH_SIZE) -> RetentionReport:
    """Archive, then remove, every entry older than AUDIT_RETENTION_DAYS, in batches.

    Each batch is the oldest run of one chain: it is written to the
    `audit_archive` storage (gzipped JSON Lines, named by chain and seq range),
    removed, and the chain's head records the seq and hash the kept entries
    start from, so that `verify_audit_log` still verifies what remains.
    """
    now = now or timezone.now()
    report = RetentionReport(cutoff=now - timedelta(days=settings.AUDIT_RETENTION_DAYS))
    expired = AuditEntry.objects.filter(timestamp__lt=report.cutoff)
    organization_ids = expired.order_by().values_list("organization_id", flat=True).distinct()
    for organization_id in list(organization_ids):
        removed, archives = 0, len(report.archives)
        while batch_removed := _retire_batch(organization_id, report, batch_size=batch_size):
            removed += batch_removed
        if removed:
            report.removed += removed
            head = AuditChain.objects.get(pk=chain_key_of(organization_id))
            # The chain itself says where it was cut, and by what.
            events.record_event(
                events.AUDIT_RETENTION_APPLIED,
                organization_id=organization_id,
                data={
                    "removed": removed,
                    "kept_from_seq": head.base_seq + 1,
                    "base_hash": head.base_hash,
                    "archives": report.archives[archives:],
                    "retention_days": settings.AUDIT_RETENTION_DAYS,
                },
            )
    if report.refused:
        logger.error("Audit retention refused broken chains: %s", "; ".join(report.refused))
    if report.removed:
        logger.info("Audit retention removed %s entries before %s", report.removed, report.cutoff)
    return report


def _retire_batch(organization_id, report: RetentionReport, *, batch_size: int) -> int:
    with transaction.atomic():
        head = lock_chain(organization_id)
        candidates = AuditEntry.objects.filter(
            organization_id=organization_id, seq__gt=head.base_seq, timestamp__lt=report.cutoff
        ).order_by("seq")[:batch_size]
        # Only the unbroken run from the chain's start: if a clock ever went backwards, an
        # old-looking entry after a newer one stays, rather than leaving a gap in the chain.
        batch = []
        for entry in candidates:
            if entry.seq != head.base_seq + len(batch) + 1:
                break
            batch.append(entry)
        if not batch:
            return 0
        # Archiving a tampered entry and cutting the chain after it would hide the tampering.
        verifier = ChainVerifier(start_seq=head.base_seq, start_hash=head.base_hash)
        chain_break = next(filter(None, map(verifier.check, batch)), None)
        if chain_break is None and not hmac.compare_digest(head.seal, head_seal(head)):
            chain_break = ChainBreak(head.base_seq, None, "the chain's head is not sealed")
        if chain_break is not None:
            report.refused.append(f"{chain_key_of(organization_id)}: {chain_break}")
            return 0
        name = _write_archive(organization_id, batch)
        if connection.vendor == "postgresql":
            # The database refuses deletes of entries except from here (see migration 0002).
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL agentry.audit_retention = 'on'")
        AuditEntry.objects.filter(pk__in=[entry.pk for entry in batch])._raw_delete(
            using=AuditEntry.objects.db
        )
        if connection.vendor == "postgresql":
            # SET LOCAL lasts until the outermost transaction ends: end it with this batch.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL agentry.audit_retention = 'off'")
        head.base_seq, head.base_hash = batch[-1].seq, batch[-1].hash
        seal_head(head, "base_seq", "base_hash")
    report.archives.append(name)
    return len(batch)


def _write_archive(organization_id, batch: list[AuditEntry]) -> str:
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb") as archive:
        for entry in batch:
            archive.write(json.dumps(archive_record(entry), sort_keys=True).encode() + b"\n")
    storage = storages["audit_archive"]
    name = f"{chain_key_of(organization_id)}/{batch[0].seq:012d}-{batch[-1].seq:012d}.jsonl.gz"
    if storage.exists(name):
        storage.delete(name)  # an earlier run archived these and then failed to remove them
    return storage.save(name, ContentFile(buffer.getvalue()))


CHECKPOINT_DIR = "checkpoints"


def audit_checkpoint_write(*, now=None) -> str:
    """Write where every chain ends now to the archive storage; return the file's name.

    The chain heads live in the database, so someone who can write to it could
    put an older, validly sealed head back and drop the entries after it. A
    checkpoint kept outside the database (with the retention archives) is what
    `verify_audit_log` holds the chains to: none may end before it.
    """
    now = now or timezone.now()
    chains = {
        head.key: {"seq": head.last_seq, "hash": head.last_hash}
        for head in AuditChain.objects.order_by("key")
    }
    body = {"written_at": now.isoformat(), "chains": chains}
    body["seal"] = checkpoint_seal(body)
    name = f"{CHECKPOINT_DIR}/{now.strftime('%Y%m%dT%H%M%S%fZ')}.json"
    return storages["audit_archive"].save(name, ContentFile(json.dumps(body, sort_keys=True)))


def checkpoint_seal(body: dict) -> str:
    """The HMAC a checkpoint `body` must carry; "" for a body that is not a checkpoint."""
    if not isinstance(body, dict) or not isinstance(body.get("chains"), dict):
        return ""
    message = json.dumps(
        {"written_at": body.get("written_at"), "chains": body["chains"]}, sort_keys=True
    )
    return keyed_hmac("checkpoint:" + message)


def latest_checkpoint() -> tuple[str, dict] | None:
    """The newest checkpoint (name, body), or None when none was written yet."""
    storage = storages["audit_archive"]
    try:
        _dirs, files = storage.listdir(CHECKPOINT_DIR)
    except FileNotFoundError:
        return None
    names = sorted(name for name in files if name.endswith(".json"))
    if not names:
        return None
    name = f"{CHECKPOINT_DIR}/{names[-1]}"
    with storage.open(name, "rb") as stored:
        return name, json.loads(stored.read())
