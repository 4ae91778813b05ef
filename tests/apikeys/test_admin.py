"""Staff list and revoke keys in the admin; no hash is ever shown, and no key is made there."""

import pytest

from apps.accounts.models import User
from apps.apikeys.models import ApiKey

from .factories import issue_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("staff@example.com", "pw-for-tests-only"))
    return client


def test_the_admin_lists_keys_without_their_hash(staff_client, owner):
    key, raw = issue_key(owner, ["agents:read"], name="deploy bot")
    for url in ("/admin/apikeys/apikey/", f"/admin/apikeys/apikey/{key.pk}/change/"):
        page = staff_client.get(url)
        assert page.status_code == 200
        html = page.content.decode()
        assert "deploy bot" in html
        assert key.displayed_prefix in html
        assert key.hashed_key.split("$$")[1] not in html
        assert raw.split(".")[1] not in html
    assert staff_client.get("/admin/apikeys/apikey/add/").status_code == 403


def test_the_admin_revokes_selected_keys(staff_client, owner):
    first, _ = issue_key(owner, ["agents:read"])
    second, _ = issue_key(owner, ["agents:read"])
    response = staff_client.post(
        "/admin/apikeys/apikey/",
        {"action": "revoke_keys", "_selected_action": [str(first.pk), str(second.pk)]},
    )
    assert response.status_code == 302
    assert set(ApiKey.objects.values_list("revoked", flat=True)) == {True}
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0


def test_deleting_an_organization_in_the_admin_deletes_its_keys(staff_client, organization, owner):
    issue_key(owner, ["agents:read"])
    url = f"/admin/organizations/organization/{organization.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not ApiKey.objects.exists()
