from django.contrib import admin

from .models import Role


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    """Roles for platform staff; a role's permissions are its group's (edit them under Groups)."""

    list_display = ("key", "name", "organization", "is_builtin", "group", "created_at")
    list_filter = (("organization", admin.EmptyFieldListFilter),)
    search_fields = ("key", "name", "organization__slug")
    readonly_fields = ("id", "group", "permission_list", "created_at", "updated_at")
    fields = ("id", "organization", "key", "name", "description", "group", "permission_list")
    autocomplete_fields = ("organization",)

    @admin.display(boolean=True)
    def is_builtin(self, role):
        return role.is_builtin

    @admin.display(description="permissions")
    def permission_list(self, role):
        return ", ".join(role.permission_names) or "—"

    def has_add_permission(self, request):
        # A role needs its own group; roles are created through the API or seed_roles.
        return False

    def has_delete_permission(self, request, obj=None):
        return obj is not None and not obj.is_builtin and not obj.memberships.exists()
