"""The admin base of every model an organization owns."""

from django.contrib import admin
from django.db.models import QuerySet

from .models import OrganizationOwnedModel


class OrganizationOwnedAdmin(admin.ModelAdmin):
    """Keeps staff edits inside one organization.

    An object's organization cannot change once created (its children and the
    objects pointing at it would be left in the old one), and every reference
    the form sets must belong to the object's organization.
    """

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        if obj is not None and "organization" not in fields:
            fields = (*fields, "organization")
        return fields

    def get_form(self, request, obj=None, **kwargs):
        form_class = super().get_form(request, obj, **kwargs)

        class SameOrganizationForm(form_class):
            def clean(self):
                cleaned = super().clean()
                organization = cleaned.get("organization") or getattr(
                    self.instance, "organization", None
                )
                if organization is None:
                    return cleaned
                for name, value in list(cleaned.items()):
                    values = value if isinstance(value, QuerySet | list | tuple) else [value]
                    if any(
                        isinstance(item, OrganizationOwnedModel)
                        and item.organization_id != organization.pk
                        for item in values
                    ):
                        self.add_error(name, "This belongs to another organization.")
                return cleaned

        return SameOrganizationForm
