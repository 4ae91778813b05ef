"""The whole audit log for platform staff: read-only, with the API's filters."""

import contextlib

from django.contrib import admin
from django.contrib.admin.exceptions import NotRegistered

from .api.filters import ACTIONS
from .chain import HASHED_COLUMNS
from .models import AuditEntry

# django-auditlog registers its own (editable-looking) admin for the log model.
with contextlib.suppress(NotRegistered):
    admin.site.unregister(AuditEntry)


class ActionFilter(admin.SimpleListFilter):
    title = "action"
    parameter_name = "action"

    def lookups(self, request, model_admin):
        return [(name, name) for name in ACTIONS]

    def queryset(self, request, queryset):
        return queryset.filter(event=self.value()) if self.value() else queryset


class ResourceTypeFilter(admin.SimpleListFilter):
    title = "resource type"
    parameter_name = "resource_type"

    def lookups(self, request, model_admin):
        from .registry import AUDITED_MODELS

        return [(label.lower(), label) for label in AUDITED_MODELS]

    def queryset(self, request, queryset):
        return queryset.filter(resource_type=self.value()) if self.value() else queryset


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """Append-only: nobody, superusers included, adds, changes or deletes entries here."""

    date_hierarchy = "timestamp"
    list_display = (
        "timestamp",
        "organization_id",
        "event",
        "resource_type",
        "object_repr",
        "actor_email",
        "api_key_prefix",
        "remote_addr",
        "cid",
    )
    list_filter = (ActionFilter, ResourceTypeFilter, "timestamp")
    search_fields = ("=actor_email", "=object_pk", "=cid", "=organization__slug", "=remote_addr")
    show_full_result_count = False
    # Only what the hash covers (and the id): a column outside it could be edited unseen.
    fields = ("id", *HASHED_COLUMNS, "hash")
    readonly_fields = fields
    actions = None

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-timestamp", "-id")

    def lookup_allowed(self, lookup, value, request=None):
        # The API's filters, by id: actor, API key, organization, object, request.
        if lookup in {"actor__id__exact", "api_key__id__exact", "organization__id__exact"}:
            return True
        return super().lookup_allowed(lookup, value, request)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
