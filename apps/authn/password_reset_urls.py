"""The server-rendered password-reset pages, the default target of `PASSWORD_RESET_URL`.

Django's URL names (`password_reset_confirm`, `password_reset_complete`), whose templates
the admin ships (`registration/password_reset_*.html`).
"""

from django.contrib.auth import views as auth_views
from django.urls import path

from .views import PasswordResetConfirmView

urlpatterns = [
    path(
        "password/reset/complete/",
        auth_views.PasswordResetCompleteView.as_view(),
        name="password_reset_complete",
    ),
    path(
        "password/reset/<uidb64>/<token>/",
        PasswordResetConfirmView.as_view(),
        name="password_reset_confirm",
    ),
]
