"""Concurrent writes that race for a unique value end in 201 or 400, never a 500."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.organizations.models import Membership, Organization

from .factories import UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def race(requests):
    """Run the callables at the same moment in threads; return their status codes."""
    barrier = threading.Barrier(len(requests))
    statuses = []

    def run(request):
        try:
            barrier.wait()
            statuses.append(request().status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(request,)) for request in requests]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def client_of(user):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(user)
    return client


def test_racing_organization_creates_with_one_slug(db):
    users = UserFactory.create_batch(6)
    statuses = race(
        [
            lambda u=u: client_of(u).post("/api/v1/orgs/", {"name": "R", "slug": "race"})
            for u in users
        ]
    )
    assert statuses.count(201) == 1
    assert statuses.count(400) == 5
    assert Organization.objects.filter(slug="race").count() == 1


def test_racing_organization_creates_with_derived_slugs_all_succeed(db):
    users = UserFactory.create_batch(5)
    statuses = race(
        [lambda u=u: client_of(u).post("/api/v1/orgs/", {"name": "Race Two"}) for u in users]
    )
    assert statuses == [201] * 5
    assert Organization.objects.filter(name="Race Two").count() == 5


def test_racing_member_adds_of_one_user(owner):
    newcomer = UserFactory()
    client = client_of(owner.user)
    statuses = race(
        [
            lambda: client.post(
                "/api/v1/orgs/acme/members/", {"email": newcomer.email, "role": "viewer"}
            )
            for _ in range(6)
        ]
    )
    assert statuses.count(201) == 1
    assert statuses.count(400) == 5
    assert Membership.objects.filter(user=newcomer).count() == 1
