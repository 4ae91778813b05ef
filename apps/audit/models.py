"""The audit log: one append-only, hash-chained entry per change or security event.

Entries are django-auditlog's log entries (this model is its swapped-in
`AUDITLOG_LOGENTRY_MODEL`) with what a security officer needs added: the
organization, the API key, the user agent, the Celery task, the event name and
the hash chain. References to users, keys, organizations and content types are
plain ids without database constraints, so that deleting any of them never
touches (and so never breaks) the log; their names are kept as snapshots.
"""

from auditlog.models import AbstractLogEntry, LogEntryManager
from django.conf import settings
from django.db import models
from django.db.models import Q

GENESIS_HASH = "0" * 64
PLATFORM_CHAIN = "platform"
Action = AbstractLogEntry.Action


def chain_key_of(organization_id) -> str:
    """The key of an organization's chain (its id), or the platform's for None."""
    return str(organization_id) if organization_id else PLATFORM_CHAIN


class AuditLogImmutable(Exception):
    """Raised on any attempt to change or remove an audit entry outside retention."""


class AuditEntryQuerySet(models.QuerySet):
    """Entries are append-only: no bulk update or delete, for anyone."""

    def update(self, **kwargs):
        raise AuditLogImmutable("Audit entries cannot be changed.")

    def delete(self):
        raise AuditLogImmutable("Audit entries cannot be deleted; retention archives them.")

    def for_organization(self, organization_id) -> "AuditEntryQuerySet":
        return self.filter(organization_id=organization_id)


class AuditEntryManager(LogEntryManager.from_queryset(AuditEntryQuerySet)):
    """django-auditlog's manager, filling in the organization of each change.

    Inside `apps.audit.recording.one_entry(instance)` the entries of that
    instance are held back and merged into one. A membership's change of role is
    named `member.role_changed` however it was made (the API's service, the
    admin, a bulk update), so that filtering by that event finds every one.
    """

    def log_create(self, instance, force_log: bool = False, **kwargs):
        from .recording import pending_for
        from .registry import object_repr_of
        from .scoping import organization_id_of

        if kwargs.get("changes"):
            # django-auditlog lists reverse relations too ("user_grants": "….None"): drop them.
            # m2m changes are ours, a role's "permissions" (its group's) among them: keep them.
            fields = instance._meta.concrete_fields + instance._meta.many_to_many
            names = {field.name for field in fields}
            kwargs["changes"] = {
                name: values
                for name, values in kwargs["changes"].items()
                if name in names or (isinstance(values, dict) and values.get("type") == "m2m")
            }
        pending = pending_for(instance)
        if pending is not None:
            pending.add(kwargs.get("action", Action.UPDATE), kwargs.get("changes"))
            return None
        kwargs.setdefault("organization_id", organization_id_of(instance))
        if (object_repr := object_repr_of(instance)) is not None:
            kwargs.setdefault("object_repr", object_repr)
        if not kwargs.get("event"):
            self._name_role_change(instance, kwargs)
        return super().log_create(instance, force_log=force_log, **kwargs)

    @staticmethod
    def _name_role_change(instance, kwargs: dict) -> None:
        """Name a membership's update that changes its role, with the data the API records."""
        from apps.access.models import Role
        from apps.organizations.models import Membership

        from .events import ROLE_CHANGED

        role_change = (kwargs.get("changes") or {}).get("role")
        if not isinstance(instance, Membership) or kwargs.get("action") != 1 or not role_change:
            return
        from_id, to_id = role_change
        keys = {
            str(pk): key
            for pk, key in Role.objects.filter(
                pk__in=[to_id, *([from_id] if from_id else [])]
            ).values_list("pk", "key")
        }
        kwargs["event"] = ROLE_CHANGED
        kwargs["additional_data"] = {
            "email": instance.user.email,
            "from_role": keys.get(str(from_id)),
            "to_role": keys.get(str(to_id)),
            **(kwargs.get("additional_data") or {}),
        }

    def log_m2m_changes(self, changed_queryset, instance, operation, field_name, **kwargs):
        """One entry per relation change: `{"type": "m2m", "added": [...], "removed": [...]}`.

        `changed_queryset` may hold objects or names already made (see registry.m2m_name_of).
        """
        from .recording import pending_for
        from .registry import m2m_name_of

        names = sorted(m2m_name_of(related) for related in changed_queryset)
        if not names:
            return None
        side = "added" if operation == "add" else "removed"
        pending = pending_for(instance)
        if pending is not None:
            change = pending.changes.setdefault(
                field_name, {"type": "m2m", "added": [], "removed": []}
            )
            change[side] = sorted(set(change[side]) | set(names))
            pending.add(Action.UPDATE, None)
            return None
        change = {"type": "m2m", "added": [], "removed": []}
        change[side] = names
        return self.log_create(
            instance, action=Action.UPDATE, changes={field_name: change}, force_log=True
        )


class AuditEntry(AbstractLogEntry):
    """Who did what, to which object, from where and when; never changed once written.

    `event` names what happened: `create`, `update` or `delete` for a change of a
    model, or a dotted name such as `auth.login_failed` for a security event
    (see apps.audit.events). `cid` is the request id (also set on the entries a
    request's Celery tasks write). Each organization's entries, and the
    platform's own (organization null), form a chain: `seq` counts from 1, and
    `hash` covers the entry's content and `prev_hash`, the previous entry's hash.
    """

    content_type = models.ForeignKey(
        "contenttypes.ContentType",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    object_pk = models.CharField(max_length=255, blank=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    remote_addr = models.CharField(max_length=45, blank=True, default="")
    organization = models.ForeignKey(
        "organizations.Organization",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    api_key = models.ForeignKey(
        "apikeys.ApiKey",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        null=True,
        blank=True,
        related_name="+",
    )
    api_key_prefix = models.CharField(max_length=32, blank=True)
    event = models.CharField(max_length=64)
    resource_type = models.CharField(max_length=100, blank=True)
    user_agent = models.CharField(max_length=512, blank=True)
    task = models.CharField(max_length=200, blank=True)
    seq = models.BigIntegerField()
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = AuditEntryManager()

    class Meta(AbstractLogEntry.Meta):
        abstract = False
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-timestamp", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "seq"],
                condition=Q(organization__isnull=False),
                name="audit_entry_unique_seq_per_organization",
            ),
            models.UniqueConstraint(
                fields=["seq"],
                condition=Q(organization__isnull=True),
                name="audit_entry_unique_seq_platform",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "timestamp"], name="audit_org_time"),
            models.Index(fields=["organization", "event"], name="audit_org_event"),
            models.Index(fields=["organization", "actor"], name="audit_org_actor"),
            models.Index(fields=["organization", "resource_type"], name="audit_org_type"),
        ]

    @property
    def chain_key(self) -> str:
        return chain_key_of(self.organization_id)

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AuditLogImmutable("Audit entries cannot be changed.")
        from .chain import append
        from .context import fill_from_context
        from .recording import held

        # Filled now, while the context that wrote it is still the current one.
        fill_from_context(self)
        if not held(self):
            append([self])

    def delete(self, *args, **kwargs):
        raise AuditLogImmutable("Audit entries cannot be deleted; retention archives them.")

    def __str__(self):
        target = f" {self.resource_type} {self.object_repr}" if self.resource_type else ""
        return f"{self.event}{target}"


class AuditChain(models.Model):
    """The head of one chain: its last entry, and where retention cut it.

    `key` is the organization's id, or "platform". The row is also the lock that
    serializes an organization's writers (apps.audit.chain.lock_chain).
    `base_seq`/`base_hash` are the seq and hash of the last entry archived and
    removed by retention: the first kept entry must follow them. `seal` keeps
    anyone without the chain key from moving either end to hide removed entries.
    """

    key = models.CharField(max_length=36, primary_key=True)
    last_seq = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    base_seq = models.BigIntegerField(default=0)
    base_hash = models.CharField(max_length=64, default=GENESIS_HASH)
    # HMAC of the four values above: moving the head or the base needs the chain key too.
    seal = models.CharField(max_length=64, blank=True)

    def __str__(self):
        return f"{self.key} @ {self.last_seq}"
