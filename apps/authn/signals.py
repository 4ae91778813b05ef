"""Security events of signing in and out and of passwords, for the audit trail and alerts.

Every signal is sent with `sender` set to the user model. Arguments:

- `login_failed`: email (normalized), ip, channel ("token", "session", "admin" or
  "password_change"), request. Sent for every wrong email or password.
- `login_locked_out`: subject ("account" or "ip"), identifier (the email or the IP),
  seconds (length of this lockout), level (1 for the first lockout, 2 for the next, …),
  until (Unix time the lockout ends), channel, request.
- `login_succeeded`: user, ip, channel, request.
- `logout`: user, request, revoked (number of refresh tokens revoked).
- `password_changed`: user, request, revoked (number of refresh tokens revoked), and
  changed_by (the staff user, when staff set the password in the admin; else absent).
- `password_reset_requested`: user (None when no active account with a usable password has
  this address), email (normalized), ip, request. Sent for every reset request, whether
  or not an email went out.
- `password_reset`: user, request, revoked (number of refresh tokens revoked). A reset
  link was used to set a new password.
- `refresh_token_reused`: user, jti (of the reused token), ip, request, revoked. A refresh
  token that had already been exchanged was presented again: someone holds a copy, so
  every refresh token of the user has been revoked.
"""

from django.dispatch import Signal

login_failed = Signal()
login_locked_out = Signal()
login_succeeded = Signal()
logout = Signal()
password_changed = Signal()
password_reset_requested = Signal()
password_reset = Signal()
refresh_token_reused = Signal()
