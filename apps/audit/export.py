"""Streaming exports of audit entries: CSV and JSON Lines, a chunk of rows at a time."""

import csv
import io
import json
from collections.abc import Iterator

from django.core.serializers.json import DjangoJSONEncoder

from .models import AuditEntry

CHUNK_ROWS = 2000
CSV_COLUMNS = (
    "id",
    "seq",
    "timestamp",
    "action",
    "resource_type",
    "object_id",
    "object_repr",
    "changes",
    "data",
    "actor_id",
    "actor_email",
    "api_key_id",
    "api_key_prefix",
    "ip",
    "user_agent",
    "request_id",
    "task",
    "prev_hash",
    "hash",
)
# Spreadsheets run a cell that starts with one of these as a formula.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def entry_record(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "seq": entry.seq,
        "timestamp": entry.timestamp.isoformat(),
        "action": entry.event,
        "resource_type": entry.resource_type,
        "object_id": entry.object_pk,
        "object_repr": entry.object_repr,
        "changes": entry.changes,
        "data": entry.additional_data,
        "actor_id": str(entry.actor_id) if entry.actor_id else None,
        "actor_email": entry.actor_email or "",
        "api_key_id": str(entry.api_key_id) if entry.api_key_id else None,
        "api_key_prefix": entry.api_key_prefix,
        "ip": entry.remote_addr or "",
        "user_agent": entry.user_agent,
        "request_id": entry.cid or "",
        "task": entry.task,
        "prev_hash": entry.prev_hash,
        "hash": entry.hash,
    }


def _csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, cls=DjangoJSONEncoder, sort_keys=True)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_PREFIXES) else text


def _rows(queryset) -> Iterator[AuditEntry]:
    return queryset.order_by("seq").iterator(chunk_size=CHUNK_ROWS)


def stream_csv(queryset) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for count, entry in enumerate(_rows(queryset), start=1):
        record = entry_record(entry)
        writer.writerow([_csv_cell(record[column]) for column in CSV_COLUMNS])
        if count % 500 == 0:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def stream_jsonl(queryset) -> Iterator[str]:
    lines = []
    for entry in _rows(queryset):
        lines.append(json.dumps(entry_record(entry), cls=DjangoJSONEncoder, ensure_ascii=False))
        if len(lines) == 500:
            yield "\n".join(lines) + "\n"
            lines = []
    if lines:
        yield "\n".join(lines) + "\n"
