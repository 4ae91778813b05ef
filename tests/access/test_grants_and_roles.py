"""Object grants, custom roles, role seeding, and what access checks cost, through the API."""

import io
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from apps.access import catalog
from apps.access.grants import grant_models, resource_of_model
from apps.access.models import Role
from apps.access.roles import builtin_group_name, builtin_role
from apps.agents.models import Agent, AgentUserGrant
from apps.organizations.models import BuiltinRole, Membership
from apps.workflows.models import WorkflowRun

from ..agents.factories import AgentFactory
from ..factories import UserFactory
from ..knowledge.factories import DocumentFactory, KnowledgeBaseFactory
from ..tools.factories import ToolFactory
from ..workflows.factories import WorkflowFactory, definition, step

pytestmark = pytest.mark.django_db

RBAC_DOC = Path(__file__).resolve().parents[2] / "docs" / "RBAC.md"
MATRIX_HEADER = "| resource | owner | admin | editor | viewer |"


# --- Helpers ------------------------------------------------------------------


@dataclass(frozen=True)
class Shareable:
    """One kind of object that can be shared: its catalog resource, URL segment and factory."""

    resource: str
    path: str
    factory: type

    @property
    def model(self):
        return self.factory._meta.model

    def make(self, organization, **fields):
        return self.factory(organization=organization, **fields)

    def url(self, obj, slug="acme"):
        return f"/api/v1/orgs/{slug}/{self.path}/{obj.pk}/"

    def grants_url(self, obj, grant_id=None, slug="acme"):
        url = f"{self.url(obj, slug)}grants/"
        return f"{url}{grant_id}/" if grant_id is not None else url


SHAREABLES = [
    Shareable("agents", "agents", AgentFactory),
    Shareable("knowledge_bases", "knowledge-bases", KnowledgeBaseFactory),
    Shareable("workflows", "workflows", WorkflowFactory),
    Shareable("tools", "tools", ToolFactory),
]


@pytest.fixture(params=SHAREABLES, ids=lambda shareable: shareable.resource)
def shareable(request):
    return request.param


def test_every_grantable_resource_is_covered():
    assert [shareable.resource for shareable in SHAREABLES] == list(catalog.GRANTABLE_RESOURCES)


def agents_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/agents/"


def agent_url(agent, slug="acme"):
    return f"{agents_url(slug)}{agent.pk}/"


def roles_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/roles/"


def role_url(role, slug="acme"):
    return f"{roles_url(slug)}{role.pk}/"


def member_url(membership, slug="acme"):
    return f"/api/v1/orgs/{slug}/members/{membership.pk}/"


def make_role(organization, key, permissions=()):
    """A custom role of `organization` holding exactly `permissions` (set up without the API)."""
    group = Group.objects.create(name=f"test:{organization.pk}:{key}")
    rows = list(Permission.objects.filter(codename__in=permissions))
    assert sorted(row.codename for row in rows) == sorted(permissions)
    group.permissions.set(rows)
    return Role.objects.create(organization=organization, key=key, name=key.title(), group=group)


def catalog_permission(resource, action):
    return Permission.objects.get(codename=catalog.permission_name(resource, action))


def grant(obj, action, *, user=None, role=None):
    """Grant `action` on `obj` to a user or a role, straight in guardian's direct-FK tables."""
    user_grant, role_grant = grant_models(type(obj))
    permission = catalog_permission(resource_of_model(type(obj)), action)
    if user is not None:
        return user_grant.objects.create(user=user, permission=permission, content_object=obj)
    return role_grant.objects.create(group=role.group, permission=permission, content_object=obj)


def grant_rows(obj):
    """(user grants, role grants) stored on `obj`, as (principal id, codename) sets."""
    user_grant, role_grant = grant_models(type(obj))
    to_users = set(
        user_grant.objects.filter(content_object_id=obj.pk).values_list(
            "user_id", "permission__codename"
        )
    )
    to_roles = set(
        role_grant.objects.filter(content_object_id=obj.pk).values_list(
            "group_id", "permission__codename"
        )
    )
    return to_users, to_roles


def count_grants(model):
    user_grant, role_grant = grant_models(model)
    return user_grant.objects.count() + role_grant.objects.count()


def group_codenames(group):
    return set(group.permissions.values_list("codename", flat=True))


def names(response):
    return sorted(item["name"] for item in response.json()["results"])


# --- 1. The grants endpoints ----------------------------------------------------


def test_grants_list_shows_grants_to_members_and_to_roles(
    shareable, organization, owner, owner_client, member_of
):
    obj = shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER, display_name="Vera Viewer").user
    to_member = owner_client.post(
        shareable.grants_url(obj), {"user": str(member.pk), "actions": ["update"]}
    )
    to_role = owner_client.post(shareable.grants_url(obj), {"role": "viewer", "actions": ["read"]})
    assert (to_member.status_code, to_role.status_code) == (201, 201)

    response = owner_client.get(shareable.grants_url(obj))

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert {"count", "next", "previous", "results"} <= set(body)
    by_principal = {grant["principal"]: grant for grant in body["results"]}
    user_grant, role_grant = by_principal["user"], by_principal["role"]
    assert set(user_grant) == {
        "id",
        "principal",
        "user",
        "role",
        "action",
        "granted_by",
        "created_at",
    }
    assert user_grant["id"] == to_member.json()[0]["id"]
    assert user_grant["user"] == {
        "id": str(member.pk),
        "email": member.email,
        "display_name": "Vera Viewer",
    }
    assert user_grant["role"] is None
    assert user_grant["action"] == "update"
    assert user_grant["granted_by"] == str(owner.user.pk)
    datetime.fromisoformat(user_grant["created_at"])
    assert role_grant["id"] == to_role.json()[0]["id"]
    assert role_grant["user"] is None
    assert role_grant["role"] == "viewer"
    assert role_grant["action"] == "read"
    assert role_grant["granted_by"] == str(owner.user.pk)


def test_grants_list_is_paginated(shareable, organization, owner_client, member_of):
    obj = shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user
    for action in ("read", "update", "delete"):
        grant(obj, action, user=member)

    response = owner_client.get(shareable.grants_url(obj), {"page_size": 2})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], len(body["results"])) == (3, 2)
    assert body["next"] is not None


def test_owner_grants_actions_to_a_member(shareable, organization, owner, owner_client, member_of):
    obj = shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user

    response = owner_client.post(
        shareable.grants_url(obj), {"user": str(member.pk), "actions": ["update"]}
    )

    assert response.status_code == 201, response.json()
    created = response.json()
    assert isinstance(created, list)
    assert len(created) == 1
    assert created[0]["principal"] == "user"
    assert created[0]["user"]["id"] == str(member.pk)
    assert created[0]["action"] == "update"
    assert grant_rows(obj) == ({(member.pk, f"{shareable.resource}:update")}, set())
    user_grant, _ = grant_models(type(obj))
    assert user_grant.objects.get(pk=created[0]["id"]).granted_by == owner.user


@pytest.mark.parametrize("key", ["viewer", "contractor"], ids=["built-in", "custom"])
def test_owner_grants_actions_to_a_role(shareable, organization, owner_client, key):
    obj = shareable.make(organization)
    make_role(organization, "contractor", ["organization:read"])
    group_id = Role.objects.available_to(organization).get(key=key).group_id

    response = owner_client.post(
        shareable.grants_url(obj), {"role": key, "actions": ["read", "update"]}
    )

    assert response.status_code == 201, response.json()
    created = response.json()
    assert sorted((grant["role"], grant["action"]) for grant in created) == [
        (key, "read"),
        (key, "update"),
    ]
    assert all(grant["principal"] == "role" for grant in created)
    assert all(grant["user"] is None for grant in created)
    assert grant_rows(obj) == (
        set(),
        {(group_id, f"{shareable.resource}:read"), (group_id, f"{shareable.resource}:update")},
    )


def test_granting_the_same_action_twice_is_idempotent(
    shareable, organization, owner_client, member_of
):
    obj = shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user
    payload = {"user": str(member.pk), "actions": ["update"]}

    first = owner_client.post(shareable.grants_url(obj), payload)
    again = owner_client.post(shareable.grants_url(obj), {**payload, "actions": ["update"] * 2})

    assert (first.status_code, again.status_code) == (201, 201)
    assert [grant["id"] for grant in again.json()] == [first.json()[0]["id"]]
    assert grant_rows(obj) == ({(member.pk, f"{shareable.resource}:update")}, set())
    role_payload = {"role": "viewer", "actions": ["read"]}
    role_ids = [
        owner_client.post(shareable.grants_url(obj), role_payload).json()[0]["id"] for _ in range(2)
    ]
    assert role_ids[0] == role_ids[1]
    assert count_grants(shareable.model) == 2


def test_revoked_grant_stops_working_on_the_next_request(
    shareable, organization, owner_client, member_of, client_for
):
    obj = shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user
    member_client = client_for(member)
    created = owner_client.post(
        shareable.grants_url(obj), {"user": str(member.pk), "actions": ["update"]}
    ).json()
    assert member_client.patch(shareable.url(obj), {"description": "one"}).status_code == 200

    response = owner_client.delete(shareable.grants_url(obj, created[0]["id"]))

    assert response.status_code == 204
    assert grant_rows(obj) == (set(), set())
    refused = member_client.patch(shareable.url(obj), {"description": "two"})
    assert refused.status_code == 403
    obj.refresh_from_db()
    assert obj.description == "one"


def test_revoking_an_unknown_grant_is_404(shareable, organization, owner_client, member_of):
    obj = shareable.make(organization)
    grant(obj, "read", user=member_of(organization, BuiltinRole.VIEWER).user)

    response = owner_client.delete(shareable.grants_url(obj, uuid.uuid4()))

    assert response.status_code == 404
    assert count_grants(shareable.model) == 1


def test_revoking_a_grant_of_another_object_is_404(
    shareable, organization, owner_client, member_of
):
    obj, other = shareable.make(organization), shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user
    on_other = grant(other, "update", user=member)
    on_other_role = grant(other, "update", role=builtin_role("viewer"))

    by_user = owner_client.delete(shareable.grants_url(obj, on_other.pk))
    by_role = owner_client.delete(shareable.grants_url(obj, on_other_role.pk))

    assert (by_user.status_code, by_role.status_code) == (404, 404)
    assert len(grant_rows(other)[0]) == len(grant_rows(other)[1]) == 1


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"actions": ["read"]}, "non_field_errors"),
        ({"user": "MEMBER", "role": "viewer", "actions": ["read"]}, "non_field_errors"),
        ({"user": "MEMBER", "actions": ["share"]}, "actions"),
        ({"user": "MEMBER", "actions": []}, "actions"),
        ({"user": "MEMBER"}, "actions"),
        ({"user": "OUTSIDER", "actions": ["read"]}, "user"),
        ({"user": "NOBODY", "actions": ["read"]}, "user"),
        ({"role": "superuser", "actions": ["read"]}, "role"),
        ({"role": "globex-support", "actions": ["read"]}, "role"),
    ],
    ids=[
        "neither-user-nor-role",
        "both-user-and-role",
        "unknown-action",
        "empty-actions",
        "no-actions",
        "user-of-another-organization",
        "user-that-does-not-exist",
        "unknown-role",
        "role-of-another-organization",
    ],
)
def test_bad_grant_input_is_400_and_grants_nothing(
    shareable, organization, other_organization, owner_client, member_of, payload, field
):
    obj = shareable.make(organization)
    ids = {
        "MEMBER": str(member_of(organization, BuiltinRole.VIEWER).user.pk),
        "OUTSIDER": str(member_of(other_organization, BuiltinRole.OWNER).user.pk),
        "NOBODY": str(uuid.uuid4()),
    }
    make_role(other_organization, "globex-support", ["agents:read"])
    payload = {
        key: ids.get(value, value) if isinstance(value, str) else value
        for key, value in payload.items()
    }

    response = owner_client.post(shareable.grants_url(obj), payload)

    assert response.status_code == 400, response.json()
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["details"]
    assert count_grants(shareable.model) == 0


@pytest.mark.parametrize("role", [BuiltinRole.OWNER, BuiltinRole.ADMIN])
def test_owner_and_admin_manage_grants(shareable, organization, member_of, client_for, role):
    obj = shareable.make(organization)
    client = client_for(member_of(organization, role).user)
    member = member_of(organization, BuiltinRole.VIEWER).user

    created = client.post(shareable.grants_url(obj), {"user": str(member.pk), "actions": ["read"]})
    listed = client.get(shareable.grants_url(obj))
    revoked = client.delete(shareable.grants_url(obj, created.json()[0]["id"]))

    assert (created.status_code, listed.status_code, revoked.status_code) == (201, 200, 204)
    assert listed.json()["count"] == 1
    assert count_grants(shareable.model) == 0


@pytest.mark.parametrize("role", [BuiltinRole.EDITOR, BuiltinRole.VIEWER])
def test_editor_and_viewer_cannot_manage_grants(
    shareable, organization, member_of, client_for, role
):
    obj = shareable.make(organization)
    caller = member_of(organization, role).user
    client = client_for(caller)
    existing = grant(obj, "read", user=member_of(organization, BuiltinRole.VIEWER).user)

    listed = client.get(shareable.grants_url(obj))
    created = client.post(shareable.grants_url(obj), {"user": str(caller.pk), "actions": ["read"]})
    revoked = client.delete(shareable.grants_url(obj, existing.pk))

    assert (listed.status_code, created.status_code, revoked.status_code) == (403, 403, 403)
    assert created.json()["error"]["code"] == "permission_denied"
    assert list(type(existing).objects.values_list("pk", flat=True)) == [existing.pk]


def test_viewer_granted_manage_shares_that_object_only(
    shareable, organization, member_of, client_for
):
    obj, other = shareable.make(organization), shareable.make(organization)
    sharer = member_of(organization, BuiltinRole.VIEWER).user
    colleague = member_of(organization, BuiltinRole.VIEWER).user
    grant(obj, "manage", user=sharer)
    client = client_for(sharer)
    payload = {"user": str(colleague.pk), "actions": ["update"]}

    on_granted = client.post(shareable.grants_url(obj), payload)
    on_other = client.post(shareable.grants_url(other), payload)
    list_other = client.get(shareable.grants_url(other))

    assert on_granted.status_code == 201, on_granted.json()
    assert (on_other.status_code, list_other.status_code) == (403, 403)
    assert (colleague.pk, f"{shareable.resource}:update") in grant_rows(obj)[0]
    assert grant_rows(other) == (set(), set())
    assert client.get(shareable.grants_url(obj)).json()["count"] == 2


# --- 2. What grants do ----------------------------------------------------------


@pytest.fixture
def contractor(organization):
    """A custom role that reads nothing of the content: it sees only what is granted."""
    return make_role(organization, "contractor", ["organization:read"])


def test_viewer_granted_update_patches_that_agent_only(organization, member_of, client_for):
    granted, other = (
        AgentFactory(organization=organization),
        AgentFactory(organization=organization),
    )
    viewer = member_of(organization, BuiltinRole.VIEWER).user
    grant(granted, "update", user=viewer)
    client = client_for(viewer)

    allowed = client.patch(agent_url(granted), {"description": "changed"})
    refused = client.patch(agent_url(other), {"description": "changed"})

    assert (allowed.status_code, refused.status_code) == (200, 403)
    granted.refresh_from_db()
    other.refresh_from_db()
    assert (granted.description, other.description) == ("changed", "")


def test_viewer_granted_delete_deletes_that_agent_only(organization, member_of, client_for):
    granted, other = (
        AgentFactory(organization=organization),
        AgentFactory(organization=organization),
    )
    viewer = member_of(organization, BuiltinRole.VIEWER).user
    grant(granted, "delete", user=viewer)
    client = client_for(viewer)

    refused = client.delete(agent_url(other))
    allowed = client.delete(agent_url(granted))

    assert (allowed.status_code, refused.status_code) == (204, 403)
    assert list(Agent.objects.values_list("pk", flat=True)) == [other.pk]


def test_member_without_read_lists_exactly_the_agents_granted_to_them_or_their_role(
    organization, other_organization, member_of, client_for, contractor
):
    mine = AgentFactory(organization=organization, name="mine")
    my_roles = AgentFactory(organization=organization, name="my role's")
    colleagues = AgentFactory(organization=organization, name="a colleague's")
    AgentFactory(organization=organization, name="nobody's")
    foreign = AgentFactory(organization=other_organization, name="foreign")
    member = member_of(organization, contractor).user
    colleague = member_of(organization, contractor).user
    grant(mine, "read", user=member)
    grant(my_roles, "read", role=contractor)
    grant(colleagues, "read", user=colleague)
    grant(foreign, "read", user=member)
    client = client_for(member)

    response = client.get(agents_url())

    assert response.status_code == 200
    assert names(response) == ["mine", "my role's"]
    assert response.json()["count"] == 2
    assert client.get(agent_url(mine)).status_code == 200
    assert client.get(agent_url(my_roles)).status_code == 200
    assert client.get(agent_url(colleagues)).status_code == 404


def test_agent_listed_through_an_update_grant_can_also_be_read(
    organization, member_of, client_for, contractor
):
    agent = AgentFactory(organization=organization, name="Updatable")
    member = member_of(organization, contractor).user
    grant(agent, "update", user=member)
    client = client_for(member)
    assert names(client.get(agents_url())) == ["Updatable"]

    response = client.get(agent_url(agent))

    assert response.status_code == 200
    assert response.json()["name"] == "Updatable"


def test_member_without_read_of_an_unshareable_resource_cannot_list_it(
    organization, member_of, client_for, contractor
):
    client = client_for(member_of(organization, contractor).user)

    response = client.get("/api/v1/orgs/acme/conversations/")

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"


def test_role_grant_applies_to_every_holder_and_stops_when_their_role_changes(
    organization, owner_client, member_of, client_for, contractor
):
    agent = AgentFactory(organization=organization, name="shared")
    AgentFactory(organization=organization, name="not shared")
    make_role(organization, "observer", ["organization:read"])
    first, second = member_of(organization, contractor), member_of(organization, contractor)
    grant(agent, "read", role=contractor)
    first_client, second_client = client_for(first.user), client_for(second.user)
    assert names(first_client.get(agents_url())) == ["shared"]
    assert names(second_client.get(agents_url())) == ["shared"]

    changed = owner_client.patch(member_url(second), {"role": "observer"})

    assert changed.status_code == 200, changed.json()
    assert names(second_client.get(agents_url())) == []
    assert second_client.get(agent_url(agent)).status_code == 404
    assert names(first_client.get(agents_url())) == ["shared"]


def test_create_granted_on_a_workflow_starts_runs_of_that_workflow_only(
    organization, member_of, client_for, contractor
):
    granted = WorkflowFactory(organization=organization)
    readable = WorkflowFactory(organization=organization)
    hidden = WorkflowFactory(organization=organization)
    member = member_of(organization, contractor).user
    grant(granted, "create", user=member)
    grant(readable, "read", user=member)
    client = client_for(member)

    def start(workflow):
        return client.post(f"/api/v1/orgs/acme/workflows/{workflow.pk}/runs/", {"input": {}})

    started = start(granted)
    on_readable, on_hidden = start(readable), start(hidden)

    assert started.status_code == 202, started.json()
    assert (on_readable.status_code, on_hidden.status_code) == (403, 404)
    assert list(WorkflowRun.objects.values_list("workflow_id", flat=True)) == [granted.pk]


def test_read_granted_on_a_knowledge_base_lists_its_documents(
    organization, member_of, client_for, contractor, settings, tmp_path
):
    settings.MEDIA_ROOT = str(tmp_path)
    granted = KnowledgeBaseFactory(organization=organization)
    other = KnowledgeBaseFactory(organization=organization)
    DocumentFactory(knowledge_base=granted, name="handbook.txt")
    DocumentFactory(knowledge_base=other, name="secret.txt")
    member = member_of(organization, contractor).user
    grant(granted, "read", user=member)
    client = client_for(member)

    listed = client.get(f"/api/v1/orgs/acme/knowledge-bases/{granted.pk}/documents/")
    refused = client.get(f"/api/v1/orgs/acme/knowledge-bases/{other.pk}/documents/")

    assert listed.status_code == 200
    assert names(listed) == ["handbook.txt"]
    assert refused.status_code == 404


@pytest.fixture
def has_perm_scene(organization, other_organization, member_of, contractor):
    """An agent, and people who may or may not update it, by role or by grant."""
    agent = AgentFactory(organization=organization)
    by_user_grant = member_of(organization, BuiltinRole.VIEWER).user
    by_role_grant = member_of(organization, contractor).user
    grant(agent, "update", user=by_user_grant)
    grant(agent, "update", role=contractor)
    return {
        "agent": agent,
        "other agent": AgentFactory(organization=organization),
        "editor": member_of(organization, BuiltinRole.EDITOR).user,
        "viewer": member_of(organization, BuiltinRole.VIEWER).user,
        "granted member": by_user_grant,
        "holder of a granted role": by_role_grant,
        "owner of another organization": member_of(other_organization, BuiltinRole.OWNER).user,
        "user of no organization": UserFactory(),
    }


@pytest.mark.parametrize(
    ("who", "on", "expected"),
    [
        ("editor", "agent", True),
        ("granted member", "agent", True),
        ("holder of a granted role", "agent", True),
        ("viewer", "agent", False),
        ("granted member", "other agent", False),
        ("holder of a granted role", "other agent", False),
        ("editor", None, False),
        ("granted member", None, False),
        ("owner of another organization", "agent", False),
        ("user of no organization", "agent", False),
    ],
)
def test_has_perm_answers_from_role_and_grants(has_perm_scene, who, on, expected):
    user = has_perm_scene[who]
    obj = has_perm_scene[on] if on is not None else None

    assert user.has_perm("agents.agents:update", obj) is expected


def test_deleting_an_object_deletes_its_grants(
    shareable, organization, owner_client, member_of, contractor
):
    obj, kept = shareable.make(organization), shareable.make(organization)
    member = member_of(organization, BuiltinRole.VIEWER).user
    for target in (obj, kept):
        grant(target, "update", user=member)
        grant(target, "read", role=contractor)

    response = owner_client.delete(shareable.url(obj))

    assert response.status_code == 204
    assert grant_rows(obj) == (set(), set())
    assert count_grants(shareable.model) == 2
    assert len(grant_rows(kept)[0]) == len(grant_rows(kept)[1]) == 1


# --- 3. Custom roles ----------------------------------------------------------------


def test_role_list_shows_builtin_roles_and_this_organizations_own(
    organization, other_organization, owner_client, member_of
):
    support = make_role(organization, "support", ["conversations:manage", "agents:read"])
    make_role(organization, "unused", ["agents:read"])
    make_role(other_organization, "globex-only", ["agents:read"])
    member_of(organization, support)
    member_of(organization, support)
    member_of(organization, BuiltinRole.VIEWER)

    response = owner_client.get(roles_url())

    assert response.status_code == 200
    roles = {role["key"]: role for role in response.json()["results"]}
    assert set(roles) == {"owner", "admin", "editor", "viewer", "support", "unused"}
    for key, permissions in catalog.BUILTIN_ROLE_PERMISSIONS.items():
        assert roles[key]["is_builtin"] is True
        assert roles[key]["permissions"] == sorted(permissions)
    assert (roles["owner"]["member_count"], roles["viewer"]["member_count"]) == (1, 1)
    assert roles["admin"]["member_count"] == 0
    assert roles["support"] == {
        **roles["support"],
        "id": str(support.pk),
        "name": "Support",
        "permissions": ["agents:read", "conversations:manage"],
        "is_builtin": False,
        "member_count": 2,
    }
    assert roles["unused"]["member_count"] == 0


@pytest.mark.parametrize("role", [BuiltinRole.OWNER, BuiltinRole.ADMIN])
def test_owner_and_admin_create_custom_roles(organization, member_of, client_for, role):
    creator = member_of(organization, role).user
    payload = {
        "key": "support-lead",
        "name": "Support lead",
        "description": "Answers customers.",
        "permissions": ["conversations:manage", "agents:read"],
    }

    response = client_for(creator).post(roles_url(), payload)

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body == {
        **body,
        "key": "support-lead",
        "name": "Support lead",
        "description": "Answers customers.",
        "permissions": ["agents:read", "conversations:manage"],
        "is_builtin": False,
        "member_count": 0,
    }
    created = Role.objects.get(pk=body["id"])
    assert (created.organization, created.created_by) == (organization, creator)
    assert group_codenames(created.group) == {"agents:read", "conversations:manage"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"key": "editor", "permissions": ["agents:read"]}, "key"),
        ({"key": "taken", "permissions": ["agents:read"]}, "key"),
        ({"key": "Not A Key", "permissions": ["agents:read"]}, "key"),
        ({"key": "new-role", "permissions": ["agents:fly"]}, "permissions"),
        ({"key": "new-role", "permissions": ["robots:read"]}, "permissions"),
    ],
    ids=["builtin-key", "key-already-used", "malformed-key", "unknown-action", "unknown-resource"],
)
def test_bad_role_input_is_400_and_creates_nothing(organization, owner_client, payload, field):
    make_role(organization, "taken", ["agents:read"])
    roles_before, groups_before = Role.objects.count(), Group.objects.count()

    response = owner_client.post(roles_url(), {"name": "New role", **payload})

    assert response.status_code == 400, response.json()
    assert field in response.json()["error"]["details"]
    assert (Role.objects.count(), Group.objects.count()) == (roles_before, groups_before)


@pytest.mark.parametrize(
    "permissions",
    [["organization:delete"], ["organization:manage"], ["agents:read", "organization:delete"]],
)
def test_role_wider_than_its_creator_is_refused(organization, member_of, client_for, permissions):
    admin = member_of(organization, BuiltinRole.ADMIN).user
    roles_before, groups_before = Role.objects.count(), Group.objects.count()

    response = client_for(admin).post(
        roles_url(), {"key": "too-wide", "name": "Too wide", "permissions": permissions}
    )

    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert (Role.objects.count(), Group.objects.count()) == (roles_before, groups_before)


def test_role_cannot_be_widened_beyond_its_editor(organization, member_of, client_for):
    support = make_role(organization, "support", ["agents:read"])
    admin = member_of(organization, BuiltinRole.ADMIN).user

    response = client_for(admin).patch(
        role_url(support), {"permissions": ["agents:read", "organization:delete"]}
    )

    assert response.status_code == 403
    assert group_codenames(support.group) == {"agents:read"}


@pytest.mark.parametrize("role", [BuiltinRole.EDITOR, BuiltinRole.VIEWER])
def test_editor_and_viewer_list_roles_but_cannot_change_them(
    organization, member_of, client_for, role
):
    custom = make_role(organization, "custom", ["agents:read"])
    client = client_for(member_of(organization, role).user)
    roles_before = Role.objects.count()

    listed = client.get(roles_url())
    created = client.post(
        roles_url(), {"key": "mine", "name": "Mine", "permissions": ["agents:read"]}
    )
    changed = client.patch(role_url(custom), {"permissions": []})
    deleted = client.delete(role_url(custom))

    assert listed.status_code == 200
    assert {"owner", "custom"} <= {role["key"] for role in listed.json()["results"]}
    assert (created.status_code, changed.status_code, deleted.status_code) == (403, 403, 403)
    assert Role.objects.count() == roles_before
    assert group_codenames(custom.group) == {"agents:read"}


def test_changed_role_permissions_apply_on_the_holders_next_request(
    organization, owner_client, member_of, client_for
):
    AgentFactory(organization=organization, name="Helper")
    support = make_role(organization, "support", ["conversations:read"])
    client = client_for(member_of(organization, support).user)
    assert client.get("/api/v1/orgs/acme/conversations/").status_code == 200
    assert names(client.get(agents_url())) == []

    response = owner_client.patch(role_url(support), {"permissions": ["agents:read"]})

    assert response.status_code == 200, response.json()
    assert response.json()["permissions"] == ["agents:read"]
    assert client.get("/api/v1/orgs/acme/conversations/").status_code == 403
    assert names(client.get(agents_url())) == ["Helper"]


@pytest.mark.parametrize("key", list(catalog.BUILTIN_ROLE_PERMISSIONS))
@pytest.mark.parametrize(
    ("method", "payload"),
    [("patch", {"permissions": ["agents:read"]}), ("patch", {"name": "Renamed"}), ("delete", None)],
    ids=["patch-permissions", "patch-name", "delete"],
)
def test_builtin_roles_cannot_be_changed_or_deleted(owner_client, key, method, payload):
    role = builtin_role(key)
    permissions_before = group_codenames(role.group)

    response = getattr(owner_client, method)(role_url(role), payload)

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "builtin_role"
    role.refresh_from_db()
    assert role.name == key.title()
    assert group_codenames(role.group) == permissions_before


def test_deleting_a_role_members_hold_is_refused(organization, owner_client, member_of):
    support = make_role(organization, "support", ["agents:read"])
    member_of(organization, support)

    response = owner_client.delete(role_url(support))

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "role_in_use"
    assert Role.objects.filter(pk=support.pk).exists()
    assert Group.objects.filter(pk=support.group_id).exists()


def test_deleting_an_unused_role_removes_it_and_its_group(organization, owner_client):
    unused = make_role(organization, "unused", ["agents:read"])

    response = owner_client.delete(role_url(unused))

    assert response.status_code == 204
    assert not Role.objects.filter(pk=unused.pk).exists()
    assert not Group.objects.filter(pk=unused.group_id).exists()


def test_role_of_another_organization_is_not_found_and_cannot_be_assigned(
    organization, other_organization, owner_client, member_of
):
    foreign = make_role(other_organization, "globex-support", ["agents:read"])
    member = member_of(organization, BuiltinRole.VIEWER)

    read = owner_client.get(role_url(foreign))
    changed = owner_client.patch(role_url(foreign), {"permissions": ["agents:manage"]})
    deleted = owner_client.delete(role_url(foreign))
    assigned = owner_client.patch(member_url(member), {"role": "globex-support"})

    assert (read.status_code, changed.status_code, deleted.status_code) == (404, 404, 404)
    assert assigned.status_code == 400
    assert "role" in assigned.json()["error"]["details"]
    assert group_codenames(foreign.group) == {"agents:read"}
    member.refresh_from_db()
    assert member.role == builtin_role("viewer")


def test_member_given_a_custom_role_has_exactly_its_permissions(
    organization, owner_client, member_of, client_for
):
    agent = AgentFactory(organization=organization)
    agent_editor = make_role(organization, "agent-editor", ["agents:read", "agents:update"])
    member = member_of(organization, BuiltinRole.VIEWER)
    client = client_for(member.user)

    assigned = owner_client.patch(member_url(member), {"role": "agent-editor"})

    assert assigned.status_code == 200, assigned.json()
    assert assigned.json()["role"] == "agent-editor"
    assert Membership.objects.get(pk=member.pk).role == agent_editor
    assert client.patch(agent_url(agent), {"description": "edited"}).status_code == 200
    assert client.delete(agent_url(agent)).status_code == 403
    assert client.get("/api/v1/orgs/acme/conversations/").status_code == 403
    assert Agent.objects.get(pk=agent.pk).description == "edited"


NEW_OBJECTS = {
    "agents": {"name": "New", "model_name": "gpt-4o-mini"},
    "knowledge_bases": {"name": "New"},
    "workflows": {"name": "New", "definition": definition(step("only"))},
    "tools": {"name": "New", "kind": "function"},
}


@pytest.mark.parametrize("shareable", [pytest.param(s, id=s.resource) for s in SHAREABLES])
def test_custom_role_that_creates_but_does_not_read_can_create(
    shareable, organization, member_of, client_for
):
    creator = make_role(organization, "creator", [f"{shareable.resource}:create"])
    client = client_for(member_of(organization, creator).user)

    response = client.post(f"/api/v1/orgs/acme/{shareable.path}/", NEW_OBJECTS[shareable.resource])

    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "New"
    assert list(shareable.model.objects.values_list("name", flat=True)) == ["New"]


# --- 4. Seeding the built-in roles ------------------------------------------------


def seed_roles() -> str:
    out = io.StringIO()
    call_command("seed_roles", stdout=out)
    return out.getvalue()


def builtin_codenames(key):
    return group_codenames(Group.objects.get(name=builtin_group_name(key)))


def test_seed_roles_is_idempotent():
    first = seed_roles()
    second = seed_roles()

    assert "up to date" in first
    assert "up to date" in second
    for key, permissions in catalog.BUILTIN_ROLE_PERMISSIONS.items():
        assert builtin_codenames(key) == set(permissions)
    assert Role.objects.builtin().count() == 4


def test_seed_roles_repairs_drifted_roles_and_names_each_change():
    editor, viewer = builtin_role("editor").group, builtin_role("viewer").group
    editor.permissions.remove(catalog_permission("agents", "delete"))
    viewer.permissions.add(catalog_permission("audit_logs", "read"))

    output = seed_roles()

    assert "editor: added agents:delete" in output
    assert "viewer: removed audit_logs:read" in output
    assert "2 changes" in output
    assert builtin_codenames("editor") == catalog.BUILTIN_ROLE_PERMISSIONS["editor"]
    assert builtin_codenames("viewer") == catalog.BUILTIN_ROLE_PERMISSIONS["viewer"]
    assert "up to date" in seed_roles()


def documented_role_matrix() -> dict[str, dict[str, set[str]]]:
    """docs/RBAC.md's matrix: {resource: {role: actions}}, "—" read as no action."""
    lines = [line.strip() for line in RBAC_DOC.read_text(encoding="utf-8").splitlines()]
    assert MATRIX_HEADER in lines, f"docs/RBAC.md has no table headed {MATRIX_HEADER!r}"
    start = lines.index(MATRIX_HEADER)
    roles = [cell.strip() for cell in MATRIX_HEADER.strip("|").split("|")][1:]
    assert set(lines[start + 1].replace("|", "").split()) == {"---"}
    matrix = {}
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        resource, *cells = [cell.strip() for cell in line.strip("|").split("|")]
        resource = resource.strip("`")
        assert resource not in matrix, f"{resource} appears twice in the table"
        matrix[resource] = {
            role: set() if cell == "—" else {action.strip() for action in cell.split(",")}
            for role, cell in zip(roles, cells, strict=True)
        }
    return matrix


def test_seeded_groups_match_the_documented_matrix_cell_by_cell():
    matrix = documented_role_matrix()

    assert list(matrix) == list(catalog.RESOURCES)
    mismatches = []
    for key in ("owner", "admin", "editor", "viewer"):
        held = builtin_codenames(key)
        for resource, by_role in matrix.items():
            documented = by_role[key]
            seeded = {catalog.action_of(name) for name in held if name.startswith(f"{resource}:")}
            if documented != seeded:
                mismatches.append((resource, key, sorted(documented), sorted(seeded)))
        assert held <= catalog.ALL_PERMISSIONS, f"{key} holds {held - catalog.ALL_PERMISSIONS}"
    assert mismatches == [], "(resource, role, documented, seeded)"


# --- 5. Query counts --------------------------------------------------------------


def warm_up(client, url):
    """One request first: the counts below are per request, not the process's cold caches.

    Another test may just have cleared ContentType's cache (`seed_roles` does), and
    looking up a model's grant tables reads content types once per process.
    """
    assert client.get(url, {"page_size": 1}).status_code == 200


def bulk_agents(organization, count):
    return Agent.objects.bulk_create(
        Agent(organization=organization, name=f"Agent {n:04d}", model_name="gpt-4o-mini")
        for n in range(count)
    )


@pytest.mark.parametrize("page_size", [5, 50])
def test_agent_list_by_grants_costs_the_same_whatever_the_page_size(
    organization, member_of, client_for, contractor, page_size, django_assert_max_num_queries
):
    member = member_of(organization, contractor).user
    read = catalog_permission("agents", "read")
    agents = bulk_agents(organization, 1000)
    AgentUserGrant.objects.bulk_create(
        AgentUserGrant(user=member, permission=read, content_object=agent) for agent in agents
    )
    AgentFactory(organization=organization, name="Not granted")
    client = client_for(member)
    warm_up(client, agents_url())

    with django_assert_max_num_queries(6):
        response = client.get(agents_url(), {"page_size": page_size})

    assert response.status_code == 200
    assert response.json()["count"] == 1000
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("page_size", [5, 50])
def test_agent_list_of_an_owner_costs_the_same_whatever_the_page_size(
    organization, owner_client, page_size, django_assert_max_num_queries
):
    bulk_agents(organization, 1000)
    warm_up(owner_client, agents_url())

    with django_assert_max_num_queries(6):
        response = owner_client.get(agents_url(), {"page_size": page_size})

    assert response.status_code == 200
    assert response.json()["count"] == 1000
    assert len(response.json()["results"]) == page_size


@pytest.mark.parametrize("rows", [5, 50])
def test_grant_list_costs_the_same_whatever_the_number_of_grants(
    organization, owner, owner_client, rows, django_assert_max_num_queries
):
    agent = AgentFactory(organization=organization)
    role_grants = [("viewer", "read"), ("editor", "update")]
    permissions = {action: catalog_permission("agents", action) for action in catalog.ACTIONS}
    users = [UserFactory() for _ in range(-(-(rows - len(role_grants)) // len(catalog.ACTIONS)))]
    Membership.objects.bulk_create(
        Membership(organization=organization, user=user, role=builtin_role("viewer"))
        for user in users
    )
    pairs = [(user, action) for user in users for action in catalog.ACTIONS]
    AgentUserGrant.objects.bulk_create(
        AgentUserGrant(
            user=user, permission=permissions[action], content_object=agent, granted_by=owner.user
        )
        for user, action in pairs[: rows - len(role_grants)]
    )
    for key, action in role_grants:
        grant(agent, action, role=builtin_role(key))

    url = f"{agent_url(agent)}grants/"
    warm_up(owner_client, url)

    with django_assert_max_num_queries(5):
        response = owner_client.get(url)

    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == rows
    assert {grant["role"] for grant in results if grant["principal"] == "role"} == {
        "viewer",
        "editor",
    }
