from django.contrib import admin, messages

from . import services
from .models import ApiKey, ApiKeyPolicy


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Staff see and revoke keys; nobody sees a hash, and keys are issued through the API only.

    Issuing goes through the API so that the secret is shown once to the member
    who will use it, and the scopes are checked against that member's permissions.
    """

    list_display = (
        "name",
        "displayed_prefix",
        "organization",
        "created_by",
        "created",
        "expiry_date",
        "last_used_at",
        "revoked",
    )
    list_filter = ("revoked", "created")
    search_fields = ("name", "prefix", "organization__slug", "created_by__email")
    list_select_related = ("organization", "created_by")
    fields = (
        "id",
        "name",
        "displayed_prefix",
        "organization",
        "created_by",
        "scopes",
        "allowed_ips",
        "rate_limit",
        "created",
        "expiry_date",
        "last_used_at",
        "last_used_ip",
        "revoked",
        "revoked_at",
        "replaced_by",
        "grace_expires_at",
        "expiry_warned_at",
    )
    readonly_fields = fields
    actions = ["revoke_keys"]

    @admin.display(description="Prefix")
    def displayed_prefix(self, obj: ApiKey) -> str:
        return obj.displayed_prefix

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Revoke the selected API keys", permissions=["delete"])
    def revoke_keys(self, request, queryset):
        revoked = 0
        for key in queryset.filter(revoked=False):
            services.api_key_revoke(key=key, acting_user=request.user)
            revoked += 1
        self.message_user(request, f"Revoked {revoked} API key(s).", messages.SUCCESS)


@admin.register(ApiKeyPolicy)
class ApiKeyPolicyAdmin(admin.ModelAdmin):
    list_display = ("organization", "max_lifetime_days", "updated_at")
    search_fields = ("organization__slug", "organization__name")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    readonly_fields = ("id", "created_at", "updated_at")
