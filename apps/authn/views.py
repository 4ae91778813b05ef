"""The browsable API's session login, under the login lockout and the "auth" rate limit."""

from django.contrib.auth import views as auth_views
from django.utils.decorators import method_decorator

from apps.ratelimit.decorators import rate_limited

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
