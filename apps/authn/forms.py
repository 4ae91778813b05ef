"""Login forms of the browsable API and the admin, under the same lockout as the token endpoint."""

from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError

from apps.ratelimit.client_ip import client_ip

from . import lockout


class LockoutFormMixin:
    """Check the lockout before the password, and count the outcome.

    While the account or the client IP is locked out, the form is invalid with a
    `locked_out` error and `retry_after` set, and the password is not checked.
    """

    channel = "session"
    retry_after = 0

    def clean(self):
        email = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if email is None or not password:
            return super().clean()
        ip = client_ip(self.request) if self.request is not None else ""
        try:
            attempt = lockout.begin(email=email, ip=ip, channel=self.channel, request=self.request)
        except lockout.LockedOut as exc:
            self.retry_after = exc.retry_after
            raise ValidationError(
                "Too many failed sign-ins for this account or from this address. "
                "Try again in %(seconds)s seconds.",
                code="locked_out",
                params={"seconds": exc.retry_after},
            ) from None
        try:
            cleaned_data = super().clean()
        except ValidationError:
            if self.user_cache is None:
                lockout.fail(attempt)  # wrong email or password
            else:
                lockout.release(attempt)  # right password, but this form refuses the user
            raise
        except Exception:
            lockout.release(attempt)
            raise
        lockout.succeed(attempt, user=self.user_cache)
        return cleaned_data


class LockoutAuthenticationForm(LockoutFormMixin, AuthenticationForm):
    """The browsable API's login form."""

    channel = "session"


class LockoutAdminAuthenticationForm(LockoutFormMixin, AdminAuthenticationForm):
    """The admin's login form (installed as `admin.site.login_form` in config/urls.py)."""

    channel = "admin"
