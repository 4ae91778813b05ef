from datetime import UTC

import django_filters
from django import forms
from django.utils.dateparse import parse_datetime

from apps.audit.events import CHANGE_ACTIONS, EVENTS
from apps.audit.models import AuditEntry

ACTIONS = (*CHANGE_ACTIONS, *EVENTS)


class CommaSeparatedChoiceField(forms.CharField):
    def __init__(self, *args, known_values=(), **kwargs):
        self.known = tuple(known_values)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        values = [item.strip() for item in (value or "").split(",") if item.strip()]
        unknown = [item for item in values if item not in self.known]
        if unknown:
            # Params, not an f-string: the caller's text may hold "%" (django-filter
            # formats the message with them).
            raise forms.ValidationError(
                "Unknown: %(unknown)s. Choose from: %(known)s.",
                code="invalid_choice",
                params={"unknown": ", ".join(unknown)[:200], "known": ", ".join(self.known)},
            )
        return values


class CommaSeparatedChoices(django_filters.Filter):
    """`?action=create,update`: any of the listed values, each one a known choice."""

    field_class = CommaSeparatedChoiceField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


class InstantField(forms.DateTimeField):
    """An ISO 8601 instant, read as UTC when it has no offset, and held in UTC.

    One that UTC cannot hold (`9999-12-31T23:00:00-05:00` is in year 10000 there)
    is invalid here rather than an error of the database query.
    """

    default_error_messages = {
        "out_of_range": "Out of range: from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.",
    }

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            instant = parse_datetime(str(value).strip())
        except ValueError:  # well formed, but no such date or time
            instant = None
        if instant is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if instant.tzinfo is None:
            return instant.replace(tzinfo=UTC)
        try:
            return instant.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError(
                self.error_messages["out_of_range"], code="out_of_range"
            ) from None


class InstantFilter(django_filters.IsoDateTimeFilter):
    field_class = InstantField


class AuditEntryFilter(django_filters.FilterSet):
    actor = django_filters.UUIDFilter(field_name="actor_id", label="Entries of this user.")
    api_key = django_filters.UUIDFilter(field_name="api_key_id", label="Entries of this API key.")
    action = CommaSeparatedChoices(
        field_name="event",
        known_values=ACTIONS,
        max_length=2000,
        label="create, update, delete or an event name; several separated by commas.",
    )
    resource_type = django_filters.CharFilter(
        field_name="resource_type",
        max_length=100,
        label="app_label.model, as in the entries (agents.agent).",
    )
    object_id = django_filters.CharFilter(field_name="object_pk", max_length=255)
    request_id = django_filters.CharFilter(field_name="cid", max_length=255)
    since = InstantFilter(
        field_name="timestamp", lookup_expr="gte", label="At or after (ISO 8601; UTC if no offset)."
    )
    until = InstantFilter(
        field_name="timestamp", lookup_expr="lt", label="Before (ISO 8601; UTC if no offset)."
    )

    class Meta:
        model = AuditEntry
        fields = ()

    def is_valid(self):
        valid = super().is_valid()
        since, until = (self.form.cleaned_data.get(name) for name in ("since", "until"))
        if valid and since and until and since >= until:
            self.form.add_error("until", "Must be after since.")
            return False
        return valid
