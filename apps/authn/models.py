from django.db import models
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken


class RotatedRefreshToken(models.Model):
    """A refresh token that was exchanged for a new pair.

    Rotation blacklists the old token, and so does a logout; this row tells the two
    apart. A rotated token presented again means someone kept a copy of it, and every
    refresh token of its user is revoked. Deleted with its token (simplejwt's
    `flushexpiredtokens` removes expired ones).
    """

    token = models.OneToOneField(
        OutstandingToken, on_delete=models.CASCADE, primary_key=True, related_name="rotation"
    )
    rotated_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"Rotated refresh token {self.token_id}"
