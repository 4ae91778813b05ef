from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.models import Group

from apps.audit.recording import permissions_entry

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


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(DjangoGroupAdmin):
    """Django's groups page, where staff edit a role's permissions.

    The permissions saved in one go are one audit entry on the group's role
    (`role.permissions_changed`; the platform's chain for a built-in role, which
    every organization's members hold), not one for the removals and one for
    the additions.
    """

    def save_related(self, request, form, formsets, change):
        with permissions_entry(form.instance):
            super().save_related(request, form, formsets, change)
