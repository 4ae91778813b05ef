import django_filters
from django import forms

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
            raise forms.ValidationError(
                f"Unknown: {', '.join(unknown)}. Choose from: {', '.join(self.known)}.",
                code="invalid_choice",
            )
        return values


class CommaSeparatedChoices(django_filters.Filter):
    """`?action=create,update`: any of the listed values, each one a known choice."""

    field_class = CommaSeparatedChoiceField

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__in": value}) if value else qs


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
    since = django_filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="gte", label="At or after (ISO 8601)."
    )
    until = django_filters.IsoDateTimeFilter(
        field_name="timestamp", lookup_expr="lt", label="Before (ISO 8601)."
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
