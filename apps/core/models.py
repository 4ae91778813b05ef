"""Abstract bases shared by every model of the platform."""

import uuid

from django.db import models


class UUIDPrimaryKeyModel(models.Model):
    """A model whose id is an opaque UUID, never a sequence that reveals counts."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)

    class Meta:
        abstract = True


class TimeStampedModel(models.Model):
    """A model that records when it was created and last updated."""

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
