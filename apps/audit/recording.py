"""Several writes of one object in one service call, recorded as one entry.

An agent saved and then given its tools, a membership whose role change is
also a named security event: `one_entry(instance)` holds back the entries
django-auditlog would write for that object (its save, its many-to-many
changes) and writes a single entry when the block ends, with their changes
merged. So auditing costs one insert per changed object.

A role's permissions are those of its Django group: `permissions_entry(group)`
records their changes on the role (see apps.audit.receivers).
"""

import contextlib
from contextvars import ContextVar
from dataclasses import dataclass, field

from auditlog.models import AbstractLogEntry
from django.db import models

UPDATE = AbstractLogEntry.Action.UPDATE


@dataclass
class PendingEntry:
    instance: models.Model
    event: str = ""
    data: dict | None = None
    action: int | None = None
    changes: dict = field(default_factory=dict)

    def add(self, action: int, changes: dict | None) -> None:
        # A create stays a create whatever follows it; a delete ends the object's story.
        if self.action is None or action != UPDATE:
            self.action = action
        self.changes.update(changes or {})


_pending: ContextVar[dict | None] = ContextVar("audit_pending", default=None)


def _key(instance: models.Model) -> tuple:
    return (instance._meta.label, str(instance.pk))


def pending_for(instance: models.Model) -> PendingEntry | None:
    pending = _pending.get()
    return pending.get(_key(instance)) if pending else None


@contextlib.contextmanager
def one_entry(instance: models.Model, *, event: str = "", data: dict | None = None):
    """Record everything done to `instance` inside the block as one entry.

    `event` names the entry instead of create/update (e.g. member.role_changed),
    `data` is stored with it; both may also be set on the yielded PendingEntry.
    Nothing is written if nothing changed. Call it inside the transaction of the
    writes, so that the entry commits (or rolls back) with them.
    """
    from .models import AuditEntry

    pending = dict(_pending.get() or {})
    entry = PendingEntry(instance=instance, event=event, data=data)
    token = _pending.set({**pending, _key(instance): entry})
    try:
        yield entry
    finally:
        _pending.reset(token)
    if entry.action is None and not entry.event:
        return
    # An unsaved instance (pk None) got its pk on save: it is the same object.
    AuditEntry.objects.log_create(
        instance,
        action=UPDATE if entry.action is None else entry.action,
        changes=entry.changes or None,
        event=entry.event,
        additional_data=entry.data or None,
        force_log=True,
    )


@contextlib.contextmanager
def permissions_entry(group):
    """Record the changes of `group`'s permissions made inside the block as one entry.

    The entry is on the group's role, in the role's organization (the platform
    for a built-in role, which every organization's members hold), named
    `role.permissions_changed` with the codenames added and removed and those the
    role now holds. A group that is no role's is recorded as itself (platform).
    Inside an entry already open for the role (role_create, role_update) the
    changes join that entry, and its writer names it.
    """
    from apps.access.models import Role

    from .events import ROLE_PERMISSIONS_CHANGED

    role = Role.objects.filter(group=group).first()
    subject = role or group
    pending = pending_for(subject)
    if pending is not None:
        yield pending
        return
    with one_entry(subject) as entry:
        yield entry
        change = entry.changes.get("permissions")
        if role is None or not change or entry.action != UPDATE or entry.event:
            return
        entry.event = ROLE_PERMISSIONS_CHANGED
        entry.data = {
            "added": change["added"],
            "removed": change["removed"],
            "permissions": sorted(group.permissions.values_list("codename", flat=True)),
        }


_batch: ContextVar[list | None] = ContextVar("audit_batch", default=None)


@contextlib.contextmanager
def batched():
    """Write the entries made inside the block together when it ends.

    Each chain is then locked, inserted into and sealed once for the block,
    rather than once per entry (a bulk update of many rows; one event in each
    of a user's organizations). Nested blocks leave the writing to the outer one.
    Use it inside the transaction of the writes it records.
    """
    from .chain import append

    if _batch.get() is not None:
        yield
        return
    entries: list = []
    token = _batch.set(entries)
    try:
        yield
    finally:
        _batch.reset(token)
    if entries:
        append(entries)


def held(entry) -> bool:
    """Keep `entry` for the enclosing `batched()` block; False when there is none."""
    batch = _batch.get()
    if batch is None:
        return False
    batch.append(entry)
    return True
