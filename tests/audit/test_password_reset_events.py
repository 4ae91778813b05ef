"""Password reset requests and resets are security events of the account's organizations."""

import re

import pytest

from apps.access.roles import builtin_role
from apps.audit import events
from apps.organizations.models import Membership

from .conftest import CLIENT_IP, USER_AGENT, api_caller, recorded

pytestmark = pytest.mark.django_db

RESET_URL = "/api/v1/auth/password/reset/"
CONFIRM_URL = "/api/v1/auth/password/reset/confirm/"


def test_a_reset_request_is_recorded_against_the_account_not_by_it(organization, member_of):
    member = member_of(organization, "editor").user
    caller = api_caller(request_id="req-reset-ask")

    response = caller.post(RESET_URL, {"email": member.email.upper()}, format="json")

    assert response.status_code == 202
    [entry] = recorded(event=events.PASSWORD_RESET_REQUESTED)
    assert entry.organization_id == organization.pk
    assert entry.actor_id is None  # anyone may ask; the account is the target
    assert entry.object_pk == str(member.pk)
    assert entry.additional_data == {"email": member.email}
    assert (entry.remote_addr, entry.user_agent, entry.cid) == (
        CLIENT_IP,
        USER_AGENT,
        "req-reset-ask",
    )


def test_a_reset_request_for_an_unknown_address_lands_in_the_platform_chain(db):
    response = api_caller().post(RESET_URL, {"email": "nobody@example.com"}, format="json")

    assert response.status_code == 202
    [entry] = recorded(event=events.PASSWORD_RESET_REQUESTED)
    assert entry.organization_id is None
    assert entry.object_pk == ""
    assert entry.additional_data == {"email": "nobody@example.com"}


def test_a_completed_reset_is_recorded_by_the_account_in_each_organization(
    organization, other_organization, member_of, mailoutbox
):
    member = member_of(organization, "viewer").user
    Membership.objects.create(
        organization=other_organization, user=member, role=builtin_role("editor")
    )
    api_caller().post(RESET_URL, {"email": member.email}, format="json")
    body = mailoutbox[0].body
    uid = re.search(r"uid:\s+(\S+)", body).group(1)
    token = re.search(r"token:\s+(\S+)", body).group(1)

    response = api_caller(request_id="req-reset-done").post(
        CONFIRM_URL,
        {"uid": uid, "token": token, "new_password": "a brand new passphrase 42"},
        format="json",
    )

    assert response.status_code == 200, response.content
    entries = recorded(event=events.PASSWORD_RESET)
    assert {entry.organization_id for entry in entries} == {
        organization.pk,
        other_organization.pk,
    }
    for entry in entries:
        assert entry.actor_id == member.pk
        assert entry.cid == "req-reset-done"
        assert entry.additional_data == {"refresh_tokens_revoked": 0}
    # The password's own change is in the platform chain, masked.
    [change] = recorded(resource_type="accounts.user", event="update", cid="req-reset-done")
    assert change.organization_id is None
    assert change.changes["password"][1] == "********"
