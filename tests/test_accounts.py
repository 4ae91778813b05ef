import pytest
from django.contrib.auth import authenticate
from django.db import IntegrityError, connection, transaction

from apps.accounts.models import User

from .factories import TEST_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def test_email_is_the_login_and_case_does_not_matter():
    user = User.objects.create_user("Ada.Lovelace@Example.COM", TEST_PASSWORD)
    assert user.email == "ada.lovelace@example.com"
    assert authenticate(username="ADA.lovelace@example.com", password=TEST_PASSWORD) == user
    assert authenticate(username="ada.lovelace@example.com", password="wrong") is None


def test_email_is_unique_regardless_of_case():
    User.objects.create_user("grace@example.com", TEST_PASSWORD)
    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user("GRACE@example.com", TEST_PASSWORD)


def test_case_insensitive_uniqueness_holds_even_for_raw_writes():
    User.objects.create_user("linus@example.com", TEST_PASSWORD)
    table = User._meta.db_table
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, email, password, display_name, is_active, is_staff, "
            "is_superuser, created_at, updated_at) VALUES "
            "(%s, %s, '', '', true, false, false, %s, %s)",
            [
                "0" * 32
                if connection.vendor == "sqlite"
                else "00000000-0000-0000-0000-000000000000",
                "LINUS@example.com",
                "2026-01-01",
                "2026-01-01",
            ],
        )


def test_user_has_uuid_id_and_timestamps():
    user = UserFactory()
    assert len(str(user.id)) == 36
    assert user.created_at is not None
    assert user.updated_at >= user.created_at


def test_create_user_requires_an_email():
    with pytest.raises(ValueError, match="email"):
        User.objects.create_user("", TEST_PASSWORD)


def test_superuser_is_staff():
    admin = User.objects.create_superuser("root@example.com", TEST_PASSWORD)
    assert admin.is_staff
    assert admin.is_superuser
    assert admin.get_full_name() == "root@example.com"


def test_me_returns_and_updates_own_profile(client_for):
    user = UserFactory(email="me@example.com", display_name="Me")
    client = client_for(user)
    body = client.get("/api/v1/me/").json()
    assert body["email"] == "me@example.com"
    assert body["display_name"] == "Me"
    assert "password" not in body

    updated = client.patch("/api/v1/me/", {"display_name": "New Me", "email": "evil@example.com"})
    assert updated.status_code == 200
    user.refresh_from_db()
    assert user.display_name == "New Me"
    assert user.email == "me@example.com"  # read-only through the API


def test_me_needs_authentication(api_client):
    assert api_client.get("/api/v1/me/").status_code == 401


def test_session_login_works_for_the_browsable_api(client):
    UserFactory(email="browser@example.com")
    assert client.login(username="Browser@example.com", password=TEST_PASSWORD)
    response = client.get("/api/v1/orgs/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    assert b"Organization" in response.content


def test_admin_pages_render_for_staff(client):
    User.objects.create_superuser("staff@example.com", TEST_PASSWORD)
    client.login(username="staff@example.com", password=TEST_PASSWORD)
    for url in (
        "/admin/accounts/user/",
        "/admin/accounts/user/add/",
        "/admin/organizations/organization/",
        "/admin/organizations/membership/",
        "/admin/access/role/",
    ):
        assert client.get(url).status_code == 200, url
