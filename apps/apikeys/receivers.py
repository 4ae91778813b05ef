"""Revoke a member's API keys when their membership ends.

A receiver rather than a line in `membership_remove`: memberships also end by
cascade (a deleted user) and from the admin, and each of those must revoke the
keys too. (A demoted member's keys need nothing here: the policy intersects a
key's scopes with its creator's current permissions on every request.)
"""

from django.db.models.signals import post_delete
from django.dispatch import receiver

from apps.organizations.models import Membership

from .services import api_keys_revoke_for_member


@receiver(post_delete, sender=Membership, dispatch_uid="apikeys_revoke_keys_of_former_member")
def revoke_keys_of_former_member(sender, instance: Membership, **kwargs) -> None:
    """Revoke the keys the removed member created in that organization."""
    api_keys_revoke_for_member(user_id=instance.user_id, organization_id=instance.organization_id)
