import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from apps.organizations.models import BuiltinRole

from .factories import MembershipFactory, OrganizationFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: DATABASE_URL is not a PostgreSQL URL")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(autouse=True)
def _builtin_roles(request):
    """Transactional tests flush every table, data migrations' rows included: re-seed the roles."""
    marker = request.node.get_closest_marker("django_db")
    transactional = marker is not None and marker.kwargs.get("transaction", False)
    if transactional or "transactional_db" in request.fixturenames:
        request.getfixturevalue("transactional_db")
        from apps.access.roles import sync_builtin_roles

        sync_builtin_roles()


@pytest.fixture(autouse=True)
def _own_audit_archive(settings, tmp_path):
    """Each test its own archive storage: retention archives and checkpoints stay in the test."""
    settings.STORAGES = {
        **settings.STORAGES,
        "audit_archive": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "audit-archive")},
        },
    }


@pytest.fixture(autouse=True)
def _empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_client():
    return APIClient()


@pytest.fixture
def organization(db):
    return OrganizationFactory(name="Acme", slug="acme")


@pytest.fixture
def other_organization(db):
    return OrganizationFactory(name="Globex", slug="globex")


@pytest.fixture
def member_of(db):
    """Make a user with `role` in `organization`: member_of(org, "editor") -> Membership."""

    def make(organization, role=BuiltinRole.VIEWER, **user_fields):
        return MembershipFactory(
            organization=organization, role=role, user=UserFactory(**user_fields)
        )

    return make


@pytest.fixture
def client_for():
    """An API client signed in as `user`."""

    def make(user):
        client = APIClient()
        client.force_authenticate(user)
        return client

    return make


@pytest.fixture
def owner(organization, member_of):
    return member_of(organization, BuiltinRole.OWNER)


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner.user)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker, in a thread of this process, consuming from the configured broker.

    Tasks go through the broker (Redis when REDIS_URL is set, otherwise the
    in-memory transport) and run against the test database. Poll the database
    for the results with `wait_for`.
    """
    from celery.contrib.testing.worker import start_worker

    from config.celery import app

    app.conf.task_always_eager = False
    try:
        with start_worker(
            app, pool="solo", perform_ping_check=False, loglevel="WARNING", shutdown_timeout=10
        ):
            yield app
    finally:
        app.conf.task_always_eager = True


@pytest.fixture
def wait_for():
    """Poll `predicate` until it is true (or fail after `timeout` seconds)."""
    import time

    def wait(predicate, timeout=20.0, interval=0.05, message="condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(interval)
        raise AssertionError(f"timed out waiting for {message}")

    return wait
