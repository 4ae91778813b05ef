"""Bulk writes on audited models are audited too.

django-auditlog logs through model signals, which `QuerySet.update`,
`bulk_create` and `bulk_update` do not send. Every audited model's manager is
built on `AuditedQuerySet` (tests/audit guards this), which logs one entry per
changed row for each of them: `bulk_update` goes through `update`, and
`QuerySet.delete` sends the signals already.
"""

from auditlog.models import AbstractLogEntry
from django.db import models, transaction

Action = AbstractLogEntry.Action


def batched():
    from .recording import batched

    return batched()


def _is_audited(model) -> bool:
    from auditlog.context import auditlog_disabled
    from auditlog.registry import auditlog

    return auditlog.contains(model) and not auditlog_disabled.get()


def _tracks_any(model, field_names) -> bool:
    """Whether an update of `field_names` can change anything the log records."""
    from auditlog.registry import auditlog

    options = auditlog.get_model_fields(model)
    names = {model._meta.get_field(name).name for name in field_names}
    if options["include_fields"]:
        names &= set(options["include_fields"])
    return bool(names - set(options["exclude_fields"]))


def _log(instance, *, action: int, old=None, fields=None) -> None:
    from auditlog import get_logentry_model
    from auditlog.diff import model_instance_diff

    changes = model_instance_diff(
        old,
        None if action == Action.DELETE else instance,
        fields_to_check=fields,
        use_json_for_changes=True,
    )
    if changes:
        get_logentry_model().objects.log_create(instance, action=action, changes=changes)


class AuditedQuerySet(models.QuerySet):
    """A queryset whose bulk writes leave one audit entry per changed row."""

    def update(self, **kwargs):
        if not _is_audited(self.model) or not _tracks_any(self.model, kwargs):
            # Bookkeeping columns (an API key's last use) are written as one plain UPDATE.
            return super().update(**kwargs)
        base = self.model._base_manager.using(self.db)
        with transaction.atomic(using=self.db, savepoint=False):
            # Locked and re-read, so the entries describe exactly the rows this update changed.
            # By pk: PostgreSQL refuses FOR UPDATE with DISTINCT or the nullable side of a join.
            rows = base.filter(pk__in=self.order_by().values("pk")).select_for_update()
            before = {row.pk: row for row in rows}
            if not before:
                return 0
            updated = base.filter(pk__in=before).update(**kwargs)
            with batched():
                for row in base.filter(pk__in=before):
                    _log(row, action=Action.UPDATE, old=before[row.pk], fields=list(kwargs))
        return updated

    def bulk_create(self, objs, *args, **kwargs):
        if not _is_audited(self.model):
            return super().bulk_create(objs, *args, **kwargs)
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            # Which rows were written is unknown then, so they could not be logged.
            raise TypeError(f"{self.model.__name__} is audited: bulk_create cannot skip conflicts.")
        with transaction.atomic(using=self.db, savepoint=False):
            created = super().bulk_create(objs, *args, **kwargs)
            with batched():
                for obj in created:
                    _log(obj, action=Action.CREATE)
        return created
