"""Revoked refresh tokens, read-only for staff.

simplejwt's admin lets staff delete a blacklist row, which quietly makes a revoked
(stolen, logged-out) refresh token work again. Revocations here are permanent.
"""

from django.contrib import admin
from rest_framework_simplejwt.token_blacklist.admin import BlacklistedTokenAdmin
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

admin.site.unregister(BlacklistedToken)


@admin.register(BlacklistedToken)
class ReadOnlyBlacklistedTokenAdmin(BlacklistedTokenAdmin):
    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return request.method in ("GET", "HEAD") and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False
