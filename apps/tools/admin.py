from django.contrib import admin

from apps.organizations.admin_base import OrganizationOwnedAdmin

from .models import Tool


@admin.register(Tool)
class ToolAdmin(OrganizationOwnedAdmin):
    """Tools, without their credentials: they are neither shown nor editable here.

    Leaving `credentials` out of the form also keeps the stored ones when a tool
    is saved from the admin.
    """

    list_display = ("name", "kind", "organization", "credentials_stored", "created_at")
    list_filter = ("kind",)
    search_fields = ("name", "description", "organization__slug", "organization__name")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization", "created_by")
    exclude = ("credentials",)
    readonly_fields = ("id", "credentials_stored", "created_at", "updated_at")

    def lookup_allowed(self, lookup, value, request=None):
        # Filters in the URL (?credentials__icontains=sk-) would reveal secrets by probing.
        if lookup.split("__")[0] == "credentials":
            return False
        return super().lookup_allowed(lookup, value, request)

    @admin.display(boolean=True, description="Has credentials")
    def credentials_stored(self, tool: Tool) -> bool:
        return tool.has_credentials
