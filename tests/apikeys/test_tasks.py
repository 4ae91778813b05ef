"""The daily warning that a key expires soon: sent once per key."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.apikeys import services
from apps.apikeys.models import ApiKey
from apps.apikeys.signals import api_key_expiring
from apps.apikeys.tasks import warn_expiring_api_keys
from config.celery import app

from .factories import issue_key

pytestmark = pytest.mark.django_db


def expiring_in(owner, delta, **fields):
    key, _raw = issue_key(owner, ["agents:read"], expires_at=timezone.now() + timedelta(days=30))
    ApiKey.objects.filter(pk=key.pk).update(expiry_date=timezone.now() + delta, **fields)
    return key


def test_the_creator_is_warned_once_per_key_within_seven_days(owner, expiring_signals):
    soon = expiring_in(owner, timedelta(days=3, hours=1))
    tomorrow = expiring_in(owner, timedelta(hours=5))
    expiring_in(owner, timedelta(days=8))  # not yet
    expiring_in(owner, -timedelta(hours=1))  # already expired
    expiring_in(owner, timedelta(days=2), revoked=True)
    rotated = expiring_in(owner, timedelta(days=2))
    ApiKey.objects.filter(pk=rotated.pk).update(grace_expires_at=timezone.now())
    issue_key(owner, ["agents:read"])  # never expires

    assert warn_expiring_api_keys.delay().get() == 2
    warned = {call["key"].pk: call["days_left"] for call in expiring_signals.calls}
    assert warned == {soon.pk: 4, tomorrow.pk: 1}
    assert expiring_signals.calls[0]["key"].created_by == owner.user
    assert ApiKey.objects.filter(expiry_warned_at__isnull=False).count() == 2

    assert warn_expiring_api_keys() == 0
    assert len(expiring_signals.calls) == 2


def test_a_failing_listener_leaves_the_key_for_the_next_run(owner, expiring_signals):
    key = expiring_in(owner, timedelta(days=1))

    def broken(sender, **kwargs):
        raise RuntimeError("mail server down")

    api_key_expiring.connect(broken, weak=False)
    try:
        assert services.api_keys_warn_expiring() == 0
    finally:
        api_key_expiring.disconnect(broken)
    assert ApiKey.objects.get(pk=key.pk).expiry_warned_at is None
    assert services.api_keys_warn_expiring() == 1


def test_beat_runs_the_warning_daily():
    entries = [
        entry
        for entry in settings.CELERY_BEAT_SCHEDULE.values()
        if entry["task"] == "apikeys.warn_expiring_api_keys"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] == 24 * 3600
    app.loader.import_default_modules()
    assert "apikeys.warn_expiring_api_keys" in app.tasks
