"""Signals of API keys, for security notifications (the email issue delivers them) and audit.

Every signal is sent with `sender=ApiKey`.
"""

from django.dispatch import Signal

# A key was issued, by creation or by rotation. Arguments: key, created_by (the user the
# key acts as, who is to be told) and rotated_from (the key it replaces, or None).
# Sent once the creating transaction has committed.
api_key_created = Signal()

# A key expires within the warning window (7 days). Arguments: key, days_left (whole days,
# rounded up). Sent once per key.
api_key_expiring = Signal()

# A request presenting an API key was refused. Arguments: key (None when the presented
# value matches no key), reason (see apps.apikeys.verification.Reason), ip (the client's
# address as apps.ratelimit.client_ip sees it) and prefix (of the presented value, or "").
api_key_rejected = Signal()
