from django import forms
from django.contrib import admin

from apps.access.models import Role

from . import services
from .models import Membership, Organization


class MembershipInline(admin.TabularInline):
    """Members at a glance; changes go through the membership page, which keeps the rules."""

    model = Membership
    extra = 0
    can_delete = False
    fields = ("user", "role", "created_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("id", "created_at", "updated_at")
    inlines = [MembershipInline]

    def delete_model(self, request, obj):
        # The service also removes the organization's stored files once the deletion commits.
        services.organization_delete(organization=obj)

    def get_deleted_objects(self, objs, request):
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Its last Owner's membership goes with the organization: that is not "removing" it.
        perms_needed.discard(Membership._meta.verbose_name)
        return deleted, counts, perms_needed, protected


class MembershipAdminForm(forms.ModelForm):
    class Meta:
        model = Membership
        fields = ("organization", "user", "role")

    def clean(self):
        cleaned = super().clean()
        organization = cleaned.get("organization") or (
            self.instance.organization if self.instance.pk else None
        )
        role = cleaned.get("role")
        if organization is not None and role is not None:
            if not (role.is_builtin or role.organization_id == organization.pk):
                self.add_error("role", "This role belongs to another organization.")
            was_owner = self.instance.pk is not None and self.instance.is_owner
            if was_owner and not role.is_owner and services.is_last_owner(self.instance):
                self.add_error("role", "This is the organization's last Owner.")
        return cleaned


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Memberships for platform staff; the last Owner can be neither demoted nor removed."""

    form = MembershipAdminForm
    list_display = ("user", "organization", "role", "created_at")
    list_filter = ("role__key",)
    search_fields = ("user__email", "organization__slug", "organization__name")
    autocomplete_fields = ("user", "organization")
    readonly_fields = ("id", "created_at", "updated_at")

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        return (*fields, "organization", "user") if obj is not None else fields

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "role":
            kwargs["queryset"] = Role.objects.select_related("organization")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.is_owner and services.is_last_owner(obj):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        # Bulk deletion goes one by one so that no organization loses its last Owner.
        for membership in queryset:
            if not (membership.is_owner and services.is_last_owner(membership)):
                membership.delete()
