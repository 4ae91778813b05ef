"""Server-rendered pages: the browsable API's session login, under the login lockout and the
"auth" rate limit, and the page a password-reset email links to by default.
"""

from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from apps.ratelimit.decorators import rate_limited

from . import services
from .forms import LockoutAuthenticationForm


@method_decorator(rate_limited("auth", methods=("POST",)), name="dispatch")
class LoginView(auth_views.LoginView):
    """Django's login view with the lockout form; a locked-out attempt answers 429."""

    template_name = "rest_framework/login.html"
    authentication_form = LockoutAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.retry_after:
            response.status_code = 429
            response["Retry-After"] = str(form.retry_after)
        return response


@method_decorator(rate_limited("auth", methods=("POST",)), name="dispatch")
class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset-confirm page, setting the password through the API's service.

    The link's token moves into the session and out of the URL (Django's redirect to
    `…/set-password/`); the form then goes through `services.password_reset_confirm`, so
    refresh tokens are revoked and `password_reset` is sent as for the API.
    """

    success_url = reverse_lazy("password_reset_complete")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        # A disabled account gets the invalid-link page, as the API refuses it.
        return user if user is not None and user.is_active else None

    def form_valid(self, form):
        try:
            services.password_reset_confirm(
                uid=self.kwargs["uidb64"],
                token=self.request.session.get(auth_views.INTERNAL_RESET_SESSION_TOKEN, ""),
                new_password=form.cleaned_data["new_password1"],
                request=self.request,
            )
        except services.InvalidResetLink:
            # Used by another request since this form was shown.
            self.validlink = False
            return self.render_to_response(self.get_context_data())
        except ValidationError as exc:
            form.add_error("new_password1", exc.messages)
            return self.form_invalid(form)
        del self.request.session[auth_views.INTERNAL_RESET_SESSION_TOKEN]
        return HttpResponseRedirect(self.get_success_url())
