from django.db.models.signals import post_delete
from django.dispatch import receiver

from .grants import grants_revoke_for_member


@receiver(post_delete, sender="organizations.Membership")
def revoke_grants_of_removed_member(sender, instance, **kwargs):
    """A removed member loses every grant in that organization, however they were removed."""
    grants_revoke_for_member(user_id=instance.user_id, organization_id=instance.organization_id)
