from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters

from apps.audit.recording import one_entry
from apps.authn.services import password_set_by_staff

from .models import User


class UserCreateForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


class UserEditForm(UserChangeForm):
    class Meta:
        model = User
        fields = ("email", "display_name")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Accounts for platform staff; a password set here signs the user out like a change."""

    add_form = UserCreateForm
    form = UserEditForm
    ordering = ("email",)
    list_display = ("email", "display_name", "is_active", "is_staff", "created_at")
    list_filter = ("is_active", "is_staff", "is_superuser")
    search_fields = ("email", "display_name")
    readonly_fields = ("created_at", "updated_at", "last_login")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("display_name",)}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "created_at", "updated_at")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "display_name", "password1", "password2"),
            },
        ),
    )

    def save_related(self, request, form, formsets, change):
        # Groups and permissions given or taken in one save: one audit entry on the account.
        with one_entry(form.instance):
            super().save_related(request, form, formsets, change)

    @method_decorator(sensitive_post_parameters())
    def user_change_password(self, request, id, form_url=""):
        """Django's password page; a password set (or disabled) here revokes refresh tokens.

        Sessions and access tokens end with the old password hash; refresh tokens
        are revoked as for the user's own change, and `password_changed` is sent
        naming the staff user (recorded as `auth.password_changed`, by staff).
        """
        if request.method != "POST":
            return super().user_change_password(request, id, form_url)
        account = self.get_object(request, unquote(id))
        old_hash = account.password if account is not None else None
        with transaction.atomic():
            response = super().user_change_password(request, id, form_url)
            if account is None:
                return response
            account.refresh_from_db(fields=["password"])
            if account.password == old_hash:
                return response  # the form was refused: nothing changed
            password_set_by_staff(user=account, staff=request.user, request=request)
        return response
