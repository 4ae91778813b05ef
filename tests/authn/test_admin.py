"""Staff cannot undo a revocation: the refresh-token blacklist is read-only in the admin."""

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from ..factories import UserFactory
from .conftest import LOGOUT_URL, REFRESH_URL, bearer_client, obtain

pytestmark = pytest.mark.django_db


def test_staff_cannot_delete_a_blacklisted_refresh_token(api_client, user):
    pair = obtain(api_client, user.email).json()
    assert bearer_client(pair["access"]).post(LOGOUT_URL, {"refresh": pair["refresh"]}).status_code
    blacklisted = BlacklistedToken.objects.get(token__jti__isnull=False, token__user=user)
    staff = UserFactory(email="staff@agentry.test", is_staff=True, is_superuser=True)
    browser = Client()
    browser.force_login(staff)
    delete_url = f"/admin/token_blacklist/blacklistedtoken/{blacklisted.pk}/delete/"

    assert browser.get(delete_url).status_code == 403
    assert browser.post(delete_url, {"post": "yes"}).status_code == 403
    assert browser.post(
        "/admin/token_blacklist/blacklistedtoken/",
        {"action": "delete_selected", "_selected_action": [blacklisted.pk], "post": "yes"},
    ).status_code in (200, 302)

    assert BlacklistedToken.objects.filter(pk=blacklisted.pk).exists()
    assert api_client.post(REFRESH_URL, {"refresh": pair["refresh"]}).status_code == 401
    assert browser.get("/admin/token_blacklist/blacklistedtoken/").status_code == 200
