"""Findings of the attack review of the audit log: actions that were left out, or named poorly.

Each is driven the way an attacker or a careless operator would do it: staff through
the real admin (Django's test client, signed in), everyone else through the API.
"""

import json

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.access import services as access_services
from apps.access.policy import member_access
from apps.access.roles import builtin_role, catalog_permissions
from apps.authn.tokens import token_pair_for
from apps.organizations.models import Membership
from tests.agents.factories import AgentFactory
from tests.apikeys.factories import issue_key
from tests.factories import TEST_PASSWORD, MembershipFactory, UserFactory
from tests.knowledge.factories import KnowledgeBaseFactory
from tests.tools.factories import ToolFactory
from tests.workflows.factories import WorkflowFactory, definition, step

from .conftest import (
    CLIENT_IP,
    USER_AGENT,
    api_caller,
    as_text,
    assert_made_by,
    only,
    recorded,
    recorded_by,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("generous_rate_limits")]

ORG = "/api/v1/orgs/acme"
NEW_PASSWORD = "staff chose this one 2026"


@pytest.fixture
def staff():
    return UserFactory(email="staff@agentry.test", is_staff=True, is_superuser=True)


def browser(user=None, *, request_id: str) -> Client:
    """A browser (session cookie) with the audit tests' IP, user agent and request id."""
    client = Client(REMOTE_ADDR=CLIENT_IP, HTTP_USER_AGENT=USER_AGENT, HTTP_X_REQUEST_ID=request_id)
    if user is not None:
        client.force_login(user)
    return client


def permission_ids(*codenames: str) -> list:
    rows = catalog_permissions()
    return [rows[codename].pk for codename in codenames]


def codenames_of(group) -> list[str]:
    return sorted(group.permissions.values_list("codename", flat=True))


def m2m(added=(), removed=()) -> dict:
    return {"type": "m2m", "added": list(added), "removed": list(removed)}


def post_group(staff, group, request_id: str, codenames: list[str]):
    response = browser(staff, request_id=request_id).post(
        f"/admin/auth/group/{group.pk}/change/",
        {"name": group.name, "permissions": permission_ids(*codenames)},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response


# --- 1. a role's permissions changed in the admin (HIGH) -------------------------------


def test_staff_changing_a_builtin_roles_permissions_in_the_admin_is_one_entry_on_the_platform(
    staff, organization
):
    viewer = builtin_role("viewer")
    before = codenames_of(viewer.group)
    wanted = sorted({*before, "audit_logs:read"} - {"agents:read"})

    post_group(staff, viewer.group, "group-builtin", wanted)

    assert codenames_of(viewer.group) == wanted
    entry = only(recorded_by("group-builtin"))
    assert entry.event == "role.permissions_changed"
    assert (entry.resource_type, entry.object_pk) == ("access.role", str(viewer.pk))
    assert entry.changes == {"permissions": m2m(added=["audit_logs:read"], removed=["agents:read"])}
    assert entry.additional_data == {
        "added": ["audit_logs:read"],
        "removed": ["agents:read"],
        "permissions": wanted,
    }
    # Built-in roles are every organization's: the platform's chain.
    assert_made_by(entry, user=staff, organization=None, request_id="group-builtin")


def test_staff_changing_a_custom_roles_permissions_in_the_admin_is_recorded_in_its_organization(
    staff, owner, organization
):
    access = member_access(user=owner.user, organization_slug="acme")
    role = access_services.role_create(
        access=access, key="auditor", name="Auditor", permissions=["agents:read"]
    )

    post_group(staff, role.group, "group-custom", ["agents:read", "tools:read"])

    entry = only(recorded_by("group-custom"))
    assert (entry.event, entry.object_pk) == ("role.permissions_changed", str(role.pk))
    assert entry.changes == {"permissions": m2m(added=["tools:read"])}
    assert_made_by(entry, user=staff, organization=organization, request_id="group-custom")
    # The organization's officers see it in their log.
    listed = api_caller(owner.user).get(
        f"{ORG}/audit-logs/", {"action": "role.permissions_changed"}
    )
    assert [row["id"] for row in listed.json()["results"]] == [entry.pk]


def test_a_group_that_is_no_roles_is_recorded_as_itself_on_the_platform(staff):
    group = Group.objects.create(name="support staff")

    post_group(staff, group, "group-plain", ["members:read"])

    entry = only(recorded_by("group-plain"))
    assert (entry.event, entry.resource_type, entry.object_pk) == (
        "update",
        "auth.group",
        str(group.pk),
    )
    assert entry.changes == {"permissions": m2m(added=["members:read"])}
    assert_made_by(entry, user=staff, organization=None, request_id="group-plain")


def test_a_roles_permissions_cleared_or_given_from_the_permission_side_are_recorded(organization):
    editor = builtin_role("editor")
    held = codenames_of(editor.group)
    audit_read = catalog_permissions()["audit_logs:read"]

    editor.group.permissions.clear()
    audit_read.group_set.add(editor.group)

    cleared, given = recorded(event="role.permissions_changed", object_pk=str(editor.pk))
    assert cleared.changes == {"permissions": m2m(removed=held)}
    assert cleared.additional_data["permissions"] == []
    assert given.changes == {"permissions": m2m(added=["audit_logs:read"])}
    assert {cleared.organization_id, given.organization_id} == {None}


def test_a_custom_role_updated_through_the_api_is_still_one_entry(owner, organization):
    role_id = api_caller(owner.user, request_id="api-role").post(
        f"{ORG}/roles/", {"key": "reader", "name": "Reader", "permissions": ["agents:read"]}
    )
    assert role_id.status_code == 201
    client = api_caller(owner.user, request_id="api-role-update")

    response = client.patch(
        f"{ORG}/roles/{role_id.json()['id']}/", {"permissions": ["tools:read"]}, format="json"
    )

    assert response.status_code == 200
    entry = only(recorded_by("api-role-update"))
    assert entry.event == "role.permissions_changed"
    assert entry.changes == {"permissions": m2m(added=["tools:read"], removed=["agents:read"])}
    assert entry.additional_data == {
        "added": ["tools:read"],
        "removed": ["agents:read"],
        "permissions": ["tools:read"],
    }


def test_staff_giving_an_account_groups_and_permissions_in_the_admin_is_recorded_on_it(staff):
    user = UserFactory(email="promoted@example.com")
    group = Group.objects.create(name="support staff")
    permission = Permission.objects.get(codename="view_auditentry")

    response = browser(staff, request_id="user-privileges").post(
        f"/admin/accounts/user/{user.pk}/change/",
        {
            "email": user.email,
            "display_name": user.display_name,
            "is_active": "on",
            "groups": [group.pk],
            "user_permissions": [permission.pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only(recorded_by("user-privileges"))
    assert (entry.event, entry.resource_type, entry.object_pk) == (
        "update",
        "accounts.user",
        str(user.pk),
    )
    assert entry.changes == {
        "groups": m2m(added=["support staff"]),
        "user_permissions": m2m(added=["view_auditentry"]),
    }
    assert_made_by(entry, user=staff, organization=None, request_id="user-privileges")


def test_staff_removing_an_account_from_a_group_in_the_admin_is_recorded(staff):
    group = Group.objects.create(name="support staff")
    user = UserFactory(email="demoted@example.com")
    user.groups.add(group)

    response = browser(staff, request_id="user-demoted").post(
        f"/admin/accounts/user/{user.pk}/change/",
        {"email": user.email, "display_name": user.display_name, "is_active": "on"},
    )

    assert response.status_code == 302
    entry = only(recorded_by("user-demoted"))
    assert entry.changes == {"groups": m2m(removed=["support staff"])}


# --- 2. a member's role changed in the admin (MEDIUM) -----------------------------------


def test_a_members_role_changed_in_the_admin_is_recorded_as_member_role_changed(
    staff, organization, member_of
):
    membership = member_of(organization, "viewer", email="promoted@example.com")
    editor = builtin_role("editor")

    response = browser(staff, request_id="admin-member-role").post(
        f"/admin/organizations/membership/{membership.pk}/change/", {"role": editor.pk}
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    entry = only(recorded_by("admin-member-role"))
    assert entry.event == "member.role_changed"
    assert (entry.resource_type, entry.object_pk) == (
        "organizations.membership",
        str(membership.pk),
    )
    assert entry.changes["role"] == [str(builtin_role("viewer").pk), str(editor.pk)]
    assert entry.additional_data == {
        "email": "promoted@example.com",
        "from_role": "viewer",
        "to_role": "editor",
    }
    assert_made_by(entry, user=staff, organization=organization, request_id="admin-member-role")


def test_a_members_role_changed_by_a_bulk_update_is_named_too(organization, member_of):
    membership = member_of(organization, "viewer", email="bulk@example.com")

    Membership.objects.filter(pk=membership.pk).update(role=builtin_role("admin"))

    entry = only(recorded(object_pk=str(membership.pk), event="member.role_changed"))
    assert entry.additional_data == {
        "email": "bulk@example.com",
        "from_role": "viewer",
        "to_role": "admin",
    }


def test_a_members_role_changed_through_the_api_is_still_one_named_entry(
    owner, organization, member_of
):
    membership = member_of(organization, "viewer", email="api@example.com")
    client = api_caller(owner.user, request_id="api-member-role")

    response = client.patch(f"{ORG}/members/{membership.pk}/", {"role": "editor"}, format="json")

    assert response.status_code == 200
    entry = only(recorded_by("api-member-role"))
    assert entry.event == "member.role_changed"
    assert entry.additional_data == {
        "email": "api@example.com",
        "from_role": "viewer",
        "to_role": "editor",
    }
    assert_made_by(entry, user=owner.user, organization=organization, request_id="api-member-role")


# --- 3. a password set by staff in the admin (MEDIUM) ------------------------------------


def set_password_in_admin(staff, user, request_id: str, password2: str = NEW_PASSWORD):
    return browser(staff, request_id=request_id).post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW_PASSWORD, "password2": password2, "usable_password": "true"},
    )


def test_a_password_set_by_staff_revokes_refresh_tokens_and_is_recorded_in_each_organization(
    staff, owner, organization, other_organization
):
    user = owner.user
    MembershipFactory(organization=other_organization, user=user, role="viewer")
    refresh = token_pair_for(user)["refresh"]

    response = set_password_in_admin(staff, user, "staff-password")

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    refused = api_caller().post("/api/v1/auth/token/refresh/", {"refresh": refresh}, format="json")
    assert refused.status_code == 401
    events = recorded_by("staff-password", event="auth.password_changed")
    assert sorted(str(entry.organization_id) for entry in events) == sorted(
        [str(organization.pk), str(other_organization.pk)]
    )
    for entry in events:
        assert (entry.resource_type, entry.object_pk) == ("accounts.user", str(user.pk))
        assert entry.additional_data == {"by_staff": True, "refresh_tokens_revoked": 1}
        assert_made_by(
            entry,
            user=staff,
            organization=organization
            if entry.organization_id == organization.pk
            else other_organization,
            request_id="staff-password",
        )
    account_update = only(recorded_by("staff-password", event="update"))
    assert account_update.changes == {"password": ["********", "********"]}
    for entry in recorded_by("staff-password"):
        assert NEW_PASSWORD not in as_text(entry)
        assert TEST_PASSWORD not in as_text(entry)


def test_a_password_set_by_staff_for_an_account_without_organization_goes_to_the_platform(staff):
    user = UserFactory(email="loner@example.com")

    assert set_password_in_admin(staff, user, "staff-password-loner").status_code == 302

    entry = only(recorded_by("staff-password-loner", event="auth.password_changed"))
    assert entry.organization_id is None
    assert entry.actor_id == staff.pk
    assert entry.additional_data == {"by_staff": True, "refresh_tokens_revoked": 0}


def test_a_refused_password_form_changes_nothing_and_records_nothing(staff, owner):
    user = owner.user
    token_pair_for(user)

    response = set_password_in_admin(staff, user, "staff-password-bad", password2="different")

    assert response.status_code == 200  # the form again, with the error
    user.refresh_from_db()
    assert user.check_password(TEST_PASSWORD)
    assert BlacklistedToken.objects.count() == 0
    assert recorded_by("staff-password-bad") == []


# --- 4. session and admin logouts (LOW) ------------------------------------------------


@pytest.mark.parametrize(
    ("url", "channel"), [("/api-auth/logout/", "session"), ("/admin/logout/", "admin")]
)
def test_a_session_logout_is_recorded_in_each_organization(
    owner, organization, other_organization, url, channel
):
    user = owner.user
    user.is_staff = True
    user.save()
    MembershipFactory(organization=other_organization, user=user, role="viewer")
    client = browser(user, request_id=f"logout-{channel}")

    response = client.post(url)

    assert response.status_code in (200, 302)
    assert "_auth_user_id" not in client.session
    entries = recorded_by(f"logout-{channel}", event="auth.logout")
    assert sorted(str(entry.organization_id) for entry in entries) == sorted(
        [str(organization.pk), str(other_organization.pk)]
    )
    for entry in entries:
        assert entry.additional_data == {"channel": channel, "refresh_tokens_revoked": 0}
        assert entry.actor_id == user.pk
        assert entry.remote_addr == CLIENT_IP


def test_an_api_logout_that_ends_a_session_is_recorded_once(owner, organization):
    token_pair_for(owner.user)
    client = api_caller(request_id="logout-api-session")
    client.force_login(owner.user)

    response = client.post("/api/v1/auth/logout/")

    assert response.status_code == 204
    assert "_auth_user_id" not in client.session
    entry = only(recorded_by("logout-api-session"))
    assert entry.event == "auth.logout"
    assert entry.additional_data == {"channel": "api", "refresh_tokens_revoked": 1}
    assert_made_by(
        entry, user=owner.user, organization=organization, request_id="logout-api-session"
    )


def test_an_api_logout_with_a_token_is_recorded_once(owner, organization):
    response = api_caller(owner.user, request_id="logout-api-token").post("/api/v1/auth/logout/")

    assert response.status_code == 204
    entry = only(recorded_by("logout-api-token"))
    assert entry.additional_data == {"channel": "api", "refresh_tokens_revoked": 1}


# --- 5. lockouts of an account (LOW) ----------------------------------------------------


def lock_out(email: str, request_id: str, settings):
    settings.LOGIN_LOCKOUT_THRESHOLD = 2
    for number in range(2):
        # From several addresses: the account reaches the threshold, no single IP does.
        api_caller(request_id=request_id, ip=f"198.51.100.{number + 1}").post(
            "/api/v1/auth/token/", {"email": email, "password": "wrong"}, format="json"
        )
    return recorded_by(request_id, event="auth.locked_out")


def test_an_account_lockout_is_recorded_in_each_of_its_organizations(
    owner, organization, other_organization, settings
):
    user = owner.user
    MembershipFactory(organization=other_organization, user=user, role="viewer")

    entries = lock_out(user.email, "lockout-member", settings)

    assert sorted(str(entry.organization_id) for entry in entries) == sorted(
        [str(organization.pk), str(other_organization.pk)]
    )
    for entry in entries:
        assert (entry.resource_type, entry.object_pk) == ("accounts.user", str(user.pk))
        assert entry.additional_data["subject"] == "account"
        assert entry.actor_id is None


def test_a_lockout_of_an_unknown_address_is_recorded_on_the_platform(db, settings):
    entry = only(lock_out("nobody@example.com", "lockout-unknown", settings))

    assert entry.organization_id is None
    assert (entry.resource_type, entry.object_pk) == ("", "")
    assert entry.additional_data["identifier"] == "nobody@example.com"


# --- 6. refused API keys are found by key (LOW) -----------------------------------------


def test_a_refused_api_key_is_named_on_its_entry_and_found_by_the_api_key_filter(
    owner, organization
):
    key, raw_key = issue_key(owner, ["agents:read"])
    assert api_caller(owner.user).post(f"{ORG}/api-keys/{key.pk}/revoke/").status_code == 200

    response = api_caller(raw_key=raw_key, request_id="refused-key").get(f"{ORG}/agents/")

    assert response.status_code == 401
    entry = only(recorded_by("refused-key"))
    assert (entry.api_key_id, entry.api_key_prefix) == (key.pk, key.displayed_prefix)
    listed = api_caller(owner.user).get(f"{ORG}/audit-logs/", {"api_key": str(key.pk)})
    assert listed.status_code == 200
    rows = {row["id"]: row for row in listed.json()["results"]}
    assert entry.pk in rows
    assert rows[entry.pk]["action"] == "api_key.rejected"


def test_an_unknown_api_key_names_no_key(db):
    response = api_caller(raw_key="agentry_nosuchkey.secretpart", request_id="unknown-key").get(
        f"{ORG}/agents/"
    )

    assert response.status_code == 401
    entry = only(recorded_by("unknown-key"))
    assert (entry.api_key_id, entry.api_key_prefix) == (None, "")


# --- 7. deleting what agents use (LOW) --------------------------------------------------


def test_deleting_a_tool_records_its_removal_on_each_agent_that_used_it(owner, organization):
    tool = ToolFactory(organization=organization, name="web_search")
    users = [AgentFactory(organization=organization, name=f"Bot {n}") for n in range(2)]
    bystander = AgentFactory(organization=organization, name="Bystander")
    for agent in users:
        agent.tools.add(tool)

    response = api_caller(owner.user, request_id="tool-delete").delete(f"{ORG}/tools/{tool.pk}/")

    assert response.status_code == 204
    removals = recorded_by("tool-delete", resource_type="agents.agent")
    assert sorted(entry.object_pk for entry in removals) == sorted(str(a.pk) for a in users)
    for entry in removals:
        assert entry.event == "update"
        assert entry.changes == {"tools": m2m(removed=["web_search"])}
        assert_made_by(entry, user=owner.user, organization=organization, request_id="tool-delete")
    assert recorded(object_pk=str(bystander.pk), event="update") == []
    deleted = only(recorded_by("tool-delete", resource_type="tools.tool"))
    assert deleted.event == "delete"


def test_deleting_a_knowledge_base_records_its_removal_on_each_agent_that_used_it(
    owner, organization
):
    knowledge_base = KnowledgeBaseFactory(organization=organization, name="Handbook")
    agent = AgentFactory(organization=organization)
    agent.knowledge_bases.add(knowledge_base)

    response = api_caller(owner.user, request_id="kb-delete").delete(
        f"{ORG}/knowledge-bases/{knowledge_base.pk}/"
    )

    assert response.status_code == 204
    entry = only(recorded_by("kb-delete", resource_type="agents.agent"))
    assert entry.object_pk == str(agent.pk)
    assert entry.changes == {"knowledge_bases": m2m(removed=["Handbook"])}


def test_deleting_an_organization_does_not_record_its_agents_losing_their_tools(
    staff, owner, organization
):
    tool = ToolFactory(organization=organization)
    AgentFactory(organization=organization).tools.add(tool)

    response = browser(staff, request_id="org-delete").post(
        f"/admin/organizations/organization/{organization.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    agent_entries = recorded_by("org-delete", resource_type="agents.agent")
    assert [entry.event for entry in agent_entries] == ["delete"]


def test_deleting_a_group_records_its_removal_on_each_member_account(staff):
    group = Group.objects.create(name="temporary")
    user = UserFactory()
    user.groups.add(group)

    response = browser(staff, request_id="group-delete").post(
        f"/admin/auth/group/{group.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    entry = only(recorded_by("group-delete", resource_type="accounts.user"))
    assert entry.object_pk == str(user.pk)
    assert entry.changes == {"groups": m2m(removed=["temporary"])}


# --- 8. workflow runs' data (LOW) -------------------------------------------------------


def test_a_workflow_runs_input_output_and_step_results_are_recorded_as_digests(
    owner, organization, django_capture_on_commit_callbacks
):
    secret = "Patient 4411 has condition X"
    workflow = WorkflowFactory(
        organization=organization,
        definition=definition(step("echo", config={"template": {"said": "{{ input.note }}"}})),
    )
    client = api_caller(owner.user, request_id="run-data")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{ORG}/workflows/{workflow.pk}/runs/", {"input": {"note": secret}}, format="json"
        )

    assert response.status_code == 202, response.content
    run_id = response.json()["id"]
    entries = recorded(object_pk=run_id)
    assert [entry.event for entry in entries] == ["create", "update", "update", "update"]
    assert entries[-1].changes["status"] == ["running", "succeeded"]
    seen = set()
    for entry in entries:
        assert secret not in as_text(entry)
        for field in ("input", "output", "step_results"):
            if field in entry.changes and entry.changes[field][1] not in ("{}", "null"):
                new = entry.changes[field][1]
                assert new.startswith("hmac-sha256:"), (field, new)
                seen.add(field)
    assert seen == {"input", "output", "step_results"}
    # The definition is the workflow's configuration, not customer data: readable.
    assert "{{ input.note }}" in json.dumps(entries[0].changes["definition"][1])
