"""Which organization's chain an audited object's entries belong to."""

from django.db import models


def organization_id_of(instance: models.Model):
    """The id of the organization `instance` belongs to; None for platform objects.

    Grants belong to the organization of the object they share; a built-in role
    (organization null) and a user account belong to the platform.
    """
    from apps.organizations.models import Organization

    if isinstance(instance, Organization):
        return instance.pk
    if hasattr(instance, "organization_id"):
        return instance.organization_id
    content_object_field = getattr(type(instance), "content_object", None)
    if content_object_field is not None and instance.content_object_id is not None:
        try:
            return organization_id_of(instance.content_object)
        except models.ObjectDoesNotExist:
            return None
    return None
