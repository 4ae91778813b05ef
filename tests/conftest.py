import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from apps.organizations.models import Role

from .factories import MembershipFactory, OrganizationFactory, UserFactory


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL: DATABASE_URL is not a PostgreSQL URL")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


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

    def make(organization, role=Role.VIEWER, **user_fields):
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
    return member_of(organization, Role.OWNER)


@pytest.fixture
def owner_client(owner, client_for):
    return client_for(owner.user)


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"
