from django.contrib import admin

from .models import Tool


@admin.register(Tool)
class ToolAdmin(admin.ModelAdmin):
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

    @admin.display(boolean=True, description="Has credentials")
    def credentials_stored(self, tool: Tool) -> bool:
        return tool.has_credentials
