"""Attempts to get more than one holds, all refused with nothing written; and the invariants.

- a Viewer creating content; an Editor managing members or roles; an Admin
  reaching for Owner; a custom role holding members:manage handing out more
  than it holds; granting on objects beyond one's rights;
- another organization's objects reached by id (in the URL, in a body field,
  in a filter, as the grantee of a grant), by platform staff, or anonymously;
- the last Owner stays; a membership change counts on the very next request;
  a removed member's grants in that organization are gone for good.
"""

import threading

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from rest_framework.test import APIClient

from apps.access import catalog, grants, policy, services
from apps.access.models import Role
from apps.access.roles import builtin_role
from apps.agents.models import Agent, AgentRoleGrant, AgentUserGrant
from apps.conversations.models import Conversation, Message
from apps.finetuning.models import FineTuningJob
from apps.knowledge.models import (
    Document,
    KnowledgeBase,
    KnowledgeBaseRoleGrant,
    KnowledgeBaseUserGrant,
)
from apps.organizations.models import BuiltinRole, Membership, Organization
from apps.organizations.services import LastOwnerError, membership_remove
from apps.tools.models import Tool, ToolRoleGrant, ToolUserGrant
from apps.workflows.models import Workflow, WorkflowRoleGrant, WorkflowRun, WorkflowUserGrant
from tests.agents.factories import AgentFactory
from tests.factories import UserFactory
from tests.finetuning.factories import VALID_LINE, FineTuningJobFactory
from tests.knowledge.factories import DocumentFactory, KnowledgeBaseFactory
from tests.tools.factories import ToolFactory
from tests.workflows.factories import WorkflowFactory, WorkflowRunFactory, definition, step

pytestmark = pytest.mark.django_db

ACME = "/api/v1/orgs/acme"
GLOBEX = "/api/v1/orgs/globex"

# Shareable resources: URL segment, model, factory, user-grant model.
SHAREABLE = {
    "agents": ("agents", Agent, AgentFactory, AgentUserGrant),
    "knowledge_bases": (
        "knowledge-bases",
        KnowledgeBase,
        KnowledgeBaseFactory,
        KnowledgeBaseUserGrant,
    ),
    "workflows": ("workflows", Workflow, WorkflowFactory, WorkflowUserGrant),
    "tools": ("tools", Tool, ToolFactory, ToolUserGrant),
}
GRANT_MODELS = (AgentUserGrant, KnowledgeBaseUserGrant, WorkflowUserGrant, ToolUserGrant)
ALL_GRANT_MODELS = (
    *GRANT_MODELS,
    AgentRoleGrant,
    KnowledgeBaseRoleGrant,
    WorkflowRoleGrant,
    ToolRoleGrant,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploaded files land in a directory of this test's own."""
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = str(root)
    return root


def error_code(response) -> str:
    return response.json()["error"]["code"]


def access_of(membership):
    return policy.member_access(
        user=membership.user, organization_slug=membership.organization.slug
    )


def grant(obj, user, *actions):
    """Grant `actions` on `obj` to `user` directly, as the sharing service stores them."""
    resource = next(r for r, spec in SHAREABLE.items() if spec[1] is type(obj))
    user_grant = SHAREABLE[resource][3]
    for action in actions:
        permission = Permission.objects.get(codename=catalog.permission_name(resource, action))
        user_grant.objects.create(user=user, permission=permission, content_object=obj)


def grants_of_user_in(user, organization) -> set:
    """(model name, id) of every grant to `user` on objects of `organization`."""
    return {
        (model.__name__, pk)
        for model in GRANT_MODELS
        for pk in model.objects.filter(
            user=user, content_object__organization=organization
        ).values_list("pk", flat=True)
    }


def user_grant_count() -> int:
    return sum(model.objects.count() for model in GRANT_MODELS)


def grant_count() -> int:
    """Every grant row, to members and to roles."""
    return sum(model.objects.count() for model in ALL_GRANT_MODELS)


def role_key(membership) -> str:
    return Membership.objects.select_related("role").get(pk=membership.pk).role.key


@pytest.fixture
def custom_role(organization, owner):
    """Define a custom role of acme through the service, as its Owner."""

    def make(key, permissions):
        return services.role_create(
            access=access_of(owner), key=key, name=key.title(), permissions=permissions
        )

    return make


# --- A Viewer creating content -----------------------------------------------------------


def _create_requests(organization):
    """(label, path, body, format, count) for every kind of content, nested ones included."""
    agent = AgentFactory(organization=organization)
    knowledge_base = KnowledgeBaseFactory(organization=organization)
    workflow = WorkflowFactory(organization=organization)
    conversation = Conversation.objects.create(
        organization=organization, agent=agent, title="Thread"
    )

    def upload(name, content):
        return SimpleUploadedFile(name, content, content_type="application/octet-stream")

    def count(model):
        return lambda: model.objects.filter(organization=organization).count()

    return {
        "agents": (
            "agents/",
            {"name": "Sneaky", "model_name": "gpt-4o-mini"},
            "json",
            count(Agent),
        ),
        "conversations": (
            "conversations/",
            {"agent": str(agent.pk), "title": "Sneaky"},
            "json",
            count(Conversation),
        ),
        "knowledge_bases": ("knowledge-bases/", {"name": "Sneaky"}, "json", count(KnowledgeBase)),
        "workflows": (
            "workflows/",
            {"name": "Sneaky", "definition": definition(step("a"))},
            "json",
            count(Workflow),
        ),
        "tools": ("tools/", {"name": "sneaky", "kind": "function"}, "json", count(Tool)),
        "finetuning_jobs": (
            "finetuning-jobs/",
            lambda: {"base_model": "gpt-4o-mini", "training_file": upload("t.jsonl", VALID_LINE)},
            "multipart",
            count(FineTuningJob),
        ),
        "documents": (
            f"knowledge-bases/{knowledge_base.pk}/documents/",
            lambda: {"file": upload("notes.txt", b"Some text.")},
            "multipart",
            count(Document),
        ),
        "workflow_runs": (
            f"workflows/{workflow.pk}/runs/",
            {"input": {}},
            "json",
            count(WorkflowRun),
        ),
        "messages": (
            f"conversations/{conversation.pk}/messages/",
            {"role": "user", "content": "Hi"},
            "json",
            count(Message),
        ),
    }


CONTENT_KINDS = (
    "agents",
    "conversations",
    "knowledge_bases",
    "workflows",
    "tools",
    "finetuning_jobs",
    "documents",
    "workflow_runs",
    "messages",
)


@pytest.mark.parametrize("kind", CONTENT_KINDS)
def test_viewer_cannot_create_any_kind_of_content(
    organization, member_of, client_for, media_root, kind
):
    path, body, fmt, count = _create_requests(organization)[kind]
    viewer = member_of(organization, BuiltinRole.VIEWER)
    before = count()
    response = client_for(viewer.user).post(
        f"{ACME}/{path}", body() if callable(body) else body, format=fmt
    )
    assert response.status_code == 403, response.content
    assert error_code(response) == "permission_denied"
    assert count() == before
    assert not [path for path in media_root.rglob("*") if path.is_file()]


@pytest.mark.parametrize("kind", CONTENT_KINDS)
def test_editor_can_create_every_kind_of_content(organization, member_of, client_for, kind):
    """The control of the test above: the same requests succeed for an Editor."""
    path, body, fmt, count = _create_requests(organization)[kind]
    editor = member_of(organization, BuiltinRole.EDITOR)
    before = count()
    response = client_for(editor.user).post(
        f"{ACME}/{path}", body() if callable(body) else body, format=fmt
    )
    # A run is accepted (202) and queued; everything else is created (201).
    assert response.status_code == (202 if kind == "workflow_runs" else 201), response.content
    assert count() == before + 1


# --- An Editor managing members ----------------------------------------------------------


@pytest.fixture
def editor(organization, owner, member_of):
    return member_of(organization, BuiltinRole.EDITOR)


def test_editor_cannot_change_a_members_role(organization, editor, member_of, client_for):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    client = client_for(editor.user)
    for target, role in ((viewer, "editor"), (viewer, "viewer"), (editor, "admin")):
        response = client.patch(f"{ACME}/members/{target.pk}/", {"role": role}, format="json")
        assert response.status_code == 403, response.content
    assert role_key(viewer) == "viewer"
    assert role_key(editor) == "editor"


def test_editor_cannot_add_a_member(organization, editor, client_for):
    newcomer = UserFactory()
    for role in ("viewer", "editor"):
        response = client_for(editor.user).post(
            f"{ACME}/members/", {"email": newcomer.email, "role": role}, format="json"
        )
        assert response.status_code == 403, response.content
    assert not Membership.objects.filter(user=newcomer).exists()


def test_editor_cannot_define_a_role(organization, editor, client_for):
    response = client_for(editor.user).post(
        f"{ACME}/roles/",
        {"key": "helper", "name": "Helper", "permissions": ["agents:read"]},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert not Role.objects.filter(organization=organization).exists()


# --- An Admin reaching for Owner ---------------------------------------------------------


@pytest.fixture
def admin(organization, owner, member_of):
    return member_of(organization, BuiltinRole.ADMIN)


def test_admin_cannot_make_themselves_owner(admin, client_for):
    response = client_for(admin.user).patch(
        f"{ACME}/members/{admin.pk}/", {"role": "owner"}, format="json"
    )
    assert response.status_code == 403, response.content
    assert role_key(admin) == "admin"


def test_admin_cannot_make_someone_else_owner(organization, admin, member_of, client_for):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    response = client_for(admin.user).patch(
        f"{ACME}/members/{viewer.pk}/", {"role": "owner"}, format="json"
    )
    assert response.status_code == 403, response.content
    assert role_key(viewer) == "viewer"


def test_admin_cannot_add_a_member_as_owner(organization, admin, client_for):
    newcomer = UserFactory()
    response = client_for(admin.user).post(
        f"{ACME}/members/", {"email": newcomer.email, "role": "owner"}, format="json"
    )
    assert response.status_code == 403, response.content
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_admin_cannot_change_an_owners_role(organization, admin, member_of, client_for, role):
    second_owner = member_of(organization, BuiltinRole.OWNER)
    response = client_for(admin.user).patch(
        f"{ACME}/members/{second_owner.pk}/", {"role": role}, format="json"
    )
    assert response.status_code == 403, response.content
    assert role_key(second_owner) == "owner"


def test_admin_cannot_remove_an_owner(organization, admin, owner, member_of, client_for):
    second_owner = member_of(organization, BuiltinRole.OWNER)
    client = client_for(admin.user)
    for target in (owner, second_owner):
        response = client.delete(f"{ACME}/members/{target.pk}/")
        assert response.status_code == 403, response.content
    assert Membership.objects.filter(pk__in=[owner.pk, second_owner.pk]).count() == 2


def test_admin_cannot_define_a_role_holding_organization_delete(organization, admin, client_for):
    client = client_for(admin.user)
    for permissions in (["organization:delete"], ["agents:read", "organization:manage"]):
        response = client.post(
            f"{ACME}/roles/",
            {"key": "wrecker", "name": "Wrecker", "permissions": permissions},
            format="json",
        )
        assert response.status_code == 403, response.content
    assert not Role.objects.filter(organization=organization).exists()


def test_admin_cannot_widen_a_custom_role_beyond_their_own(
    organization, admin, client_for, custom_role
):
    role = custom_role("helper", ["agents:read"])
    response = client_for(admin.user).patch(
        f"{ACME}/roles/{role.pk}/", {"permissions": ["organization:delete"]}, format="json"
    )
    assert response.status_code == 403, response.content
    assert Role.objects.get(pk=role.pk).permission_names == ["agents:read"]


def test_admin_cannot_assign_a_custom_role_wider_than_their_own(
    organization, admin, member_of, client_for, custom_role
):
    wide = custom_role("wrecker", ["organization:delete", "agents:read"])
    viewer = member_of(organization, BuiltinRole.VIEWER)
    newcomer = UserFactory()
    client = client_for(admin.user)

    changed = client.patch(f"{ACME}/members/{viewer.pk}/", {"role": wide.key}, format="json")
    added = client.post(
        f"{ACME}/members/", {"email": newcomer.email, "role": wide.key}, format="json"
    )
    own = client.patch(f"{ACME}/members/{admin.pk}/", {"role": wide.key}, format="json")

    assert (changed.status_code, added.status_code, own.status_code) == (403, 403, 403)
    assert role_key(viewer) == "viewer"
    assert role_key(admin) == "admin"
    assert not Membership.objects.filter(user=newcomer).exists()


def test_admin_cannot_change_or_remove_a_member_whose_role_is_wider(
    organization, admin, member_of, client_for, custom_role
):
    wider = member_of(organization, custom_role("wrecker", ["organization:delete"]))
    client = client_for(admin.user)
    changed = client.patch(f"{ACME}/members/{wider.pk}/", {"role": "viewer"}, format="json")
    removed = client.delete(f"{ACME}/members/{wider.pk}/")
    assert (changed.status_code, removed.status_code) == (403, 403)
    assert role_key(wider) == "wrecker"


# --- A custom role holding members:manage but no agents:* ------------------------------------


@pytest.fixture
def people_manager(organization, owner, member_of, custom_role):
    """A member whose custom role manages members (and reads the organization), nothing else."""
    role = custom_role("people", ["members:manage", "organization:read"])
    return member_of(organization, role)


@pytest.fixture
def minimal_member(organization, member_of, custom_role):
    """A member whose role holds less than the people manager's, so they may act on them."""
    return member_of(organization, custom_role("minimal", ["organization:read"]))


@pytest.mark.parametrize("role", ["viewer", "editor", "admin", "owner"])
def test_members_manager_cannot_give_themselves_a_wider_role(people_manager, client_for, role):
    response = client_for(people_manager.user).patch(
        f"{ACME}/members/{people_manager.pk}/", {"role": role}, format="json"
    )
    assert response.status_code == 403, response.content
    assert role_key(people_manager) == "people"


@pytest.mark.parametrize("role", ["viewer", "editor", "admin", "owner"])
def test_members_manager_cannot_give_others_a_wider_role(
    people_manager, minimal_member, client_for, role
):
    client = client_for(people_manager.user)
    newcomer = UserFactory()
    changed = client.patch(f"{ACME}/members/{minimal_member.pk}/", {"role": role}, format="json")
    added = client.post(f"{ACME}/members/", {"email": newcomer.email, "role": role}, format="json")
    assert (changed.status_code, added.status_code) == (403, 403)
    assert role_key(minimal_member) == "minimal"
    assert not Membership.objects.filter(user=newcomer).exists()


def test_members_manager_cannot_define_a_role_with_what_they_lack(
    organization, people_manager, client_for
):
    response = client_for(people_manager.user).post(
        f"{ACME}/roles/",
        {"key": "reader", "name": "Reader", "permissions": ["agents:read"]},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert not Role.objects.filter(organization=organization, key="reader").exists()


def test_members_manager_cannot_widen_their_own_role(people_manager, client_for):
    role = people_manager.role
    response = client_for(people_manager.user).patch(
        f"{ACME}/roles/{role.pk}/",
        {"permissions": ["members:manage", "organization:read", "agents:manage"]},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert Role.objects.get(pk=role.pk).permission_names == ["members:manage", "organization:read"]


def test_members_manager_may_hand_out_what_they_hold(people_manager, minimal_member, client_for):
    """The control: within their own permissions the same member is not refused."""
    client = client_for(people_manager.user)
    newcomer = UserFactory()
    added = client.post(
        f"{ACME}/members/", {"email": newcomer.email, "role": "minimal"}, format="json"
    )
    changed = client.patch(
        f"{ACME}/members/{minimal_member.pk}/", {"role": "people"}, format="json"
    )
    assert (added.status_code, changed.status_code) == (201, 200), (added.content, changed.content)
    assert role_key(minimal_member) == "people"


# --- Granting beyond one's rights --------------------------------------------------------


@pytest.mark.parametrize("resource", list(SHAREABLE))
@pytest.mark.parametrize("held", ["create", "read", "update", "delete"])
def test_a_grant_without_manage_cannot_be_shared(
    organization, owner, member_of, client_for, resource, held
):
    """A member granted one action (not manage) on an object grants nothing on it."""
    path, _model, factory, _user_grant = SHAREABLE[resource]
    obj = factory(organization=organization)
    holder = member_of(organization, BuiltinRole.VIEWER)
    friend = member_of(organization, BuiltinRole.VIEWER)
    grant(obj, holder.user, held)
    before = grant_count()
    client = client_for(holder.user)
    for actions in ([held], ["read"], ["manage"]):
        for grantee in ({"user": str(friend.user_id)}, {"role": "viewer"}):
            response = client.post(
                f"{ACME}/{path}/{obj.pk}/grants/", {**grantee, "actions": actions}, format="json"
            )
            assert response.status_code == 403, response.content
    assert client.get(f"{ACME}/{path}/{obj.pk}/grants/").status_code == 403
    assert grant_count() == before


def test_an_update_grant_cannot_revoke_grants(organization, owner, member_of, client_for):
    agent = AgentFactory(organization=organization)
    holder = member_of(organization, BuiltinRole.VIEWER)
    grant(agent, holder.user, "update")
    own_grant = AgentUserGrant.objects.get(user=holder.user)
    response = client_for(holder.user).delete(f"{ACME}/agents/{agent.pk}/grants/{own_grant.pk}/")
    assert response.status_code == 403, response.content
    assert AgentUserGrant.objects.filter(pk=own_grant.pk).exists()


def test_manage_on_one_agent_does_not_share_another(organization, owner, member_of, client_for):
    agent_a = AgentFactory(organization=organization)
    agent_b = AgentFactory(organization=organization)
    holder = member_of(organization, BuiltinRole.VIEWER)
    friend = member_of(organization, BuiltinRole.VIEWER)
    grant(agent_a, holder.user, "manage")
    client = client_for(holder.user)
    body = {"user": str(friend.user_id), "actions": ["read"]}

    on_b = client.post(f"{ACME}/agents/{agent_b.pk}/grants/", body, format="json")
    assert on_b.status_code == 403, on_b.content
    assert not AgentUserGrant.objects.filter(content_object=agent_b).exists()

    on_a = client.post(f"{ACME}/agents/{agent_a.pk}/grants/", body, format="json")
    assert on_a.status_code == 201, on_a.content
    assert AgentUserGrant.objects.filter(content_object=agent_a, user=friend.user).exists()


def test_a_role_grant_without_manage_cannot_be_shared(organization, owner, member_of, client_for):
    """The same through a grant to the member's role."""
    agent = AgentFactory(organization=organization)
    holder = member_of(organization, BuiltinRole.VIEWER)
    AgentRoleGrant.objects.create(
        group=holder.role.group,
        permission=Permission.objects.get(codename="agents:update"),
        content_object=agent,
    )
    response = client_for(holder.user).post(
        f"{ACME}/agents/{agent.pk}/grants/",
        {"role": "viewer", "actions": ["update"]},
        format="json",
    )
    assert response.status_code == 403, response.content
    assert AgentRoleGrant.objects.count() == 1
    assert not AgentUserGrant.objects.exists()


def test_nobody_grants_an_action_they_do_not_hold(organization, owner, member_of):
    """The sharing service refuses an action the granter does not hold, manage or not.

    Through the API manage on an object implies every action on it, so this is
    checked on the service with an access that holds agents:manage but, unlike
    any real role, not agents:delete.
    """
    agent = AgentFactory(organization=organization)
    viewer = member_of(organization, BuiltinRole.VIEWER)
    # No grant on the agent: agents:delete could only come from these permissions.
    access = policy.MemberAccess(
        membership=owner, permissions=frozenset({"agents:manage", "agents:read"})
    )
    assert access.has_on(agent, "agents:manage")
    assert not access.has_on(agent, "agents:delete")
    with pytest.raises(PermissionDenied):
        grants.grants_create(obj=agent, actions=["read", "delete"], access=access, user=viewer.user)
    assert not AgentUserGrant.objects.exists()


def test_manage_on_one_agent_does_not_revoke_grants_on_another(
    organization, owner, member_of, client_for
):
    """A grant id of agent B, put under agent A's URL, is not found there."""
    agent_a = AgentFactory(organization=organization)
    agent_b = AgentFactory(organization=organization)
    holder = member_of(organization, BuiltinRole.VIEWER)
    friend = member_of(organization, BuiltinRole.VIEWER)
    grant(agent_a, holder.user, "manage")
    grant(agent_b, friend.user, "read")
    on_b = AgentUserGrant.objects.get(content_object=agent_b)
    client = client_for(holder.user)

    through_a = client.delete(f"{ACME}/agents/{agent_a.pk}/grants/{on_b.pk}/")
    directly = client.delete(f"{ACME}/agents/{agent_b.pk}/grants/{on_b.pk}/")

    assert (through_a.status_code, directly.status_code) == (404, 403)
    assert AgentUserGrant.objects.filter(pk=on_b.pk).exists()


def test_a_grant_on_one_knowledge_base_reaches_no_other_documents(
    organization, owner, member_of, client_for
):
    """A document of knowledge base B, put under A's URL, is not found there."""
    kb_a = KnowledgeBaseFactory(organization=organization)
    kb_b = KnowledgeBaseFactory(organization=organization)
    doc_a = DocumentFactory(knowledge_base=kb_a)
    doc_b = DocumentFactory(knowledge_base=kb_b)
    holder = member_of(organization, BuiltinRole.VIEWER)
    grant(kb_a, holder.user, "update", "delete")
    client = client_for(holder.user)
    base = f"{ACME}/knowledge-bases/{kb_a.pk}/documents"

    renamed = client.patch(f"{base}/{doc_b.pk}/", {"name": "pwned.txt"}, format="json")
    deleted = client.delete(f"{base}/{doc_b.pk}/")
    assert (renamed.status_code, deleted.status_code) == (404, 404)
    doc_b.refresh_from_db()
    assert doc_b.name != "pwned.txt"

    # The control: the grant does reach A's own document.
    assert client.delete(f"{base}/{doc_a.pk}/").status_code == 204
    assert not Document.objects.filter(pk=doc_a.pk).exists()


def test_a_grant_on_one_workflow_cancels_no_other_runs(organization, owner, member_of, client_for):
    """A run of workflow B, put under A's URL, is not found there."""
    workflow_a = WorkflowFactory(organization=organization)
    workflow_b = WorkflowFactory(organization=organization)
    run_a = WorkflowRunFactory(workflow=workflow_a)
    run_b = WorkflowRunFactory(workflow=workflow_b)
    holder = member_of(organization, BuiltinRole.VIEWER)
    grant(workflow_a, holder.user, "update")
    client = client_for(holder.user)

    crossed = client.post(f"{ACME}/workflows/{workflow_a.pk}/runs/{run_b.pk}/cancel/")
    directly = client.post(f"{ACME}/workflows/{workflow_b.pk}/runs/{run_b.pk}/cancel/")
    assert (crossed.status_code, directly.status_code) == (404, 403)
    assert WorkflowRun.objects.get(pk=run_b.pk).status == WorkflowRun.Status.QUEUED

    own = client.post(f"{ACME}/workflows/{workflow_a.pk}/runs/{run_a.pk}/cancel/")
    assert own.status_code == 200, own.content
    assert WorkflowRun.objects.get(pk=run_a.pk).status == WorkflowRun.Status.CANCELLED


# --- Another organization's objects ------------------------------------------------------


@pytest.fixture
def tenants(organization, other_organization, owner, member_of):
    """Objects of acme and of globex, and acme's Owner, who may do anything in acme."""
    globex_owner = member_of(other_organization, BuiltinRole.OWNER)
    globex_member = member_of(other_organization, BuiltinRole.VIEWER)
    g_agent = AgentFactory(organization=other_organization, name="Globex agent")
    g_tool = ToolFactory(organization=other_organization)
    g_kb = KnowledgeBaseFactory(organization=other_organization)
    g_agent.tools.set([g_tool])
    g_agent.knowledge_bases.set([g_kb])
    g_workflow = WorkflowFactory(organization=other_organization)
    g_conversation = Conversation.objects.create(
        organization=other_organization,
        agent=g_agent,
        title="Globex secrets",
        owner=globex_owner.user,
        created_by=globex_owner.user,
    )
    g_role = services.role_create(
        access=access_of(globex_owner), key="globex-only", name="G", permissions=["agents:read"]
    )
    grant(g_agent, globex_member.user, "read")
    a_agent = AgentFactory(organization=organization, name="Acme agent")
    a_tool = ToolFactory(organization=organization)
    a_kb = KnowledgeBaseFactory(organization=organization)
    a_agent.tools.set([a_tool])
    a_agent.knowledge_bases.set([a_kb])
    a_workflow = WorkflowFactory(organization=organization)
    a_conversation = Conversation.objects.create(
        organization=organization, agent=a_agent, owner=owner.user, created_by=owner.user
    )
    return {
        "owner": owner,
        "globex_member": globex_member,
        "agent": g_agent,
        "tool": g_tool,
        "kb": g_kb,
        "workflow": g_workflow,
        "conversation": g_conversation,
        "job": FineTuningJobFactory(organization=other_organization),
        "membership": globex_member,
        "role": g_role,
        "run": WorkflowRunFactory(workflow=g_workflow),
        "document": DocumentFactory(knowledge_base=g_kb),
        "message": Message.objects.create(
            organization=other_organization,
            conversation=g_conversation,
            role="user",
            content="secret",
        ),
        "grant": AgentUserGrant.objects.get(content_object=g_agent),
        "a_agent": a_agent,
        "a_tool": a_tool,
        "a_kb": a_kb,
        "a_workflow": a_workflow,
        "a_conversation": a_conversation,
    }


def globex_snapshot(organization) -> dict:
    """Every globex row that the requests below could touch, with its last change."""
    snapshot = {}
    models = (Agent, Tool, KnowledgeBase, Workflow, Conversation, FineTuningJob)
    for model in (*models, WorkflowRun, Document, Message):
        for pk, updated_at in model.objects.filter(organization=organization).values_list(
            "pk", "updated_at"
        ):
            snapshot[(model.__name__, pk)] = updated_at
    for membership in Membership.objects.filter(organization=organization):
        snapshot[("Membership", membership.pk)] = (membership.role_id, membership.updated_at)
    for role in Role.objects.filter(organization=organization):
        snapshot[("Role", role.pk)] = (role.updated_at, tuple(role.permission_names))
    snapshot["grants"] = sorted(
        str(pk) for model in ALL_GRANT_MODELS for pk in model.objects.values_list("pk", flat=True)
    )
    snapshot["agent_tools"] = sorted(
        str(pk) for pk in Agent.tools.through.objects.values_list("pk", flat=True)
    )
    return snapshot


# (method, path template, body): {x} is a globex object, {a_x} an acme one.
FOREIGN_URLS = [
    ("get", "agents/{agent}/", None),
    ("patch", "agents/{agent}/", {"name": "Pwned"}),
    ("put", "agents/{agent}/", {"name": "Pwned", "model_name": "x"}),
    ("delete", "agents/{agent}/", None),
    ("get", "tools/{tool}/", None),
    ("patch", "tools/{tool}/", {"description": "Pwned"}),
    ("delete", "tools/{tool}/", None),
    ("get", "knowledge-bases/{kb}/", None),
    ("patch", "knowledge-bases/{kb}/", {"description": "Pwned"}),
    ("delete", "knowledge-bases/{kb}/", None),
    ("post", "knowledge-bases/{kb}/reingest/", None),
    ("get", "workflows/{workflow}/", None),
    ("patch", "workflows/{workflow}/", {"description": "Pwned"}),
    ("delete", "workflows/{workflow}/", None),
    ("get", "conversations/{conversation}/", None),
    ("patch", "conversations/{conversation}/", {"title": "Pwned"}),
    ("delete", "conversations/{conversation}/", None),
    ("get", "finetuning-jobs/{job}/", None),
    ("post", "finetuning-jobs/{job}/cancel/", None),
    ("delete", "finetuning-jobs/{job}/", None),
    ("get", "members/{membership}/", None),
    ("patch", "members/{membership}/", {"role": "admin"}),
    ("delete", "members/{membership}/", None),
    ("get", "roles/{role}/", None),
    ("patch", "roles/{role}/", {"name": "Pwned"}),
    ("delete", "roles/{role}/", None),
    # grants
    ("get", "agents/{agent}/grants/", None),
    ("post", "agents/{agent}/grants/", "GRANT"),
    ("delete", "agents/{agent}/grants/{grant}/", None),
    ("delete", "agents/{a_agent}/grants/{grant}/", None),
    ("get", "tools/{tool}/grants/", None),
    ("get", "knowledge-bases/{kb}/grants/", None),
    ("post", "workflows/{workflow}/grants/", "GRANT"),
    # workflow runs
    ("get", "workflows/{workflow}/runs/", None),
    ("post", "workflows/{workflow}/runs/", {"input": {}}),
    ("get", "workflows/{workflow}/runs/{run}/", None),
    ("get", "workflows/{a_workflow}/runs/{run}/", None),
    ("post", "workflows/{a_workflow}/runs/{run}/cancel/", None),
    ("post", "workflows/{workflow}/runs/{run}/cancel/", None),
    # documents
    ("get", "knowledge-bases/{kb}/documents/", None),
    ("post", "knowledge-bases/{kb}/documents/", "UPLOAD"),
    ("get", "knowledge-bases/{kb}/documents/{document}/", None),
    ("get", "knowledge-bases/{a_kb}/documents/{document}/", None),
    ("patch", "knowledge-bases/{a_kb}/documents/{document}/", {"name": "pwned.txt"}),
    ("delete", "knowledge-bases/{a_kb}/documents/{document}/", None),
    ("get", "knowledge-bases/{a_kb}/documents/{document}/chunks/", None),
    # messages
    ("get", "conversations/{conversation}/messages/", None),
    ("post", "conversations/{conversation}/messages/", {"role": "user", "content": "Hi"}),
    ("get", "conversations/{conversation}/messages/{message}/", None),
    ("get", "conversations/{a_conversation}/messages/{message}/", None),
    ("patch", "conversations/{a_conversation}/messages/{message}/", {"content": "Pwned"}),
    ("delete", "conversations/{a_conversation}/messages/{message}/", None),
]


@pytest.mark.parametrize(
    ("method", "template", "body"),
    FOREIGN_URLS,
    ids=[f"{method}-{template}" for method, template, _ in FOREIGN_URLS],
)
def test_another_organizations_object_in_the_url_is_not_found(
    tenants, other_organization, client_for, method, template, body
):
    """acme's Owner, who may do anything in acme, gets 404 for globex's objects under acme."""
    ids = {name: obj.pk for name, obj in tenants.items()}
    path = f"{ACME}/{template.format(**ids)}"
    fmt = "json"
    if body == "GRANT":
        body = {"role": "viewer", "actions": ["read"]}
    elif body == "UPLOAD":
        body = {"file": SimpleUploadedFile("n.txt", b"text", content_type="text/plain")}
        fmt = "multipart"
    before = globex_snapshot(other_organization)
    client = client_for(tenants["owner"].user)
    response = getattr(client, method)(path, body, format=fmt)
    assert response.status_code == 404, response.content
    assert error_code(response) == "not_found"
    assert globex_snapshot(other_organization) == before


SLUG_REQUESTS = [
    ("get", "", None),
    ("patch", "", {"name": "Pwned"}),
    ("delete", "", None),
    ("get", "agents/", None),
    ("post", "agents/", {"name": "Planted", "model_name": "gpt-4o-mini"}),
    ("get", "agents/{agent}/", None),
    ("patch", "agents/{agent}/", {"name": "Pwned"}),
    ("delete", "agents/{agent}/", None),
    ("get", "agents/{agent}/grants/", None),
    ("post", "agents/{agent}/grants/", {"role": "viewer", "actions": ["read"]}),
    ("get", "members/", None),
    ("post", "members/", {"email": "planted@example.com", "role": "viewer"}),
    ("patch", "members/{membership}/", {"role": "admin"}),
    ("post", "roles/", {"key": "planted", "name": "P", "permissions": ["agents:read"]}),
]


@pytest.mark.parametrize(
    ("method", "template", "body"),
    SLUG_REQUESTS,
    ids=[f"{method}-{template or 'organization'}" for method, template, _ in SLUG_REQUESTS],
)
def test_another_organizations_slug_is_not_found(
    tenants, other_organization, client_for, method, template, body
):
    """acme's Owner reaching globex's own URLs: globex does not exist for them."""
    UserFactory(email="planted@example.com")
    ids = {name: obj.pk for name, obj in tenants.items()}
    before = globex_snapshot(other_organization)
    client = client_for(tenants["owner"].user)
    response = getattr(client, method)(f"{GLOBEX}/{template.format(**ids)}", body, format="json")
    assert response.status_code == 404, response.content
    assert error_code(response) == "not_found"
    assert globex_snapshot(other_organization) == before
    assert Organization.objects.get(slug="globex").name == "Globex"
    assert not Membership.objects.filter(user__email="planted@example.com").exists()
    assert not Role.objects.filter(key="planted").exists()


def test_a_member_cannot_be_given_another_organizations_role(
    tenants, organization, member_of, client_for
):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    newcomer = UserFactory()
    client = client_for(tenants["owner"].user)
    foreign = tenants["role"].key
    changed = client.patch(f"{ACME}/members/{viewer.pk}/", {"role": foreign}, format="json")
    added = client.post(
        f"{ACME}/members/", {"email": newcomer.email, "role": foreign}, format="json"
    )
    for response in (changed, added):
        assert response.status_code == 400, response.content
        assert "role" in response.json()["error"]["details"]
    assert role_key(viewer) == "viewer"
    assert not Membership.objects.filter(user=newcomer).exists()


@pytest.mark.parametrize("field", ["tools", "knowledge_bases"])
def test_an_agent_cannot_refer_to_another_organizations_objects(
    tenants, organization, client_for, field
):
    foreign = tenants["tool" if field == "tools" else "kb"]
    own = tenants["a_tool" if field == "tools" else "a_kb"]
    agent = tenants["a_agent"]
    client = client_for(tenants["owner"].user)
    before = Agent.objects.filter(organization=organization).count()

    created = client.post(
        f"{ACME}/agents/",
        {"name": "Mixed", "model_name": "gpt-4o-mini", field: [str(own.pk), str(foreign.pk)]},
        format="json",
    )
    updated = client.patch(
        f"{ACME}/agents/{agent.pk}/", {field: [str(foreign.pk)], "name": "Renamed"}, format="json"
    )

    for response in (created, updated):
        assert response.status_code == 400, response.content
        assert field in response.json()["error"]["details"]
    assert Agent.objects.filter(organization=organization).count() == before
    agent = Agent.objects.get(pk=agent.pk)
    assert agent.name == "Acme agent"
    assert list(getattr(agent, field).all()) == [own]


def test_a_conversation_cannot_use_another_organizations_agent(tenants, organization, client_for):
    client = client_for(tenants["owner"].user)
    foreign = str(tenants["agent"].pk)
    conversation = tenants["a_conversation"]
    before = Conversation.objects.filter(organization=organization).count()

    created = client.post(f"{ACME}/conversations/", {"agent": foreign}, format="json")
    updated = client.patch(
        f"{ACME}/conversations/{conversation.pk}/", {"agent": foreign, "title": "X"}, format="json"
    )

    for response in (created, updated):
        assert response.status_code == 400, response.content
        assert "agent" in response.json()["error"]["details"]
    assert Conversation.objects.filter(organization=organization).count() == before
    conversation.refresh_from_db()
    assert (conversation.agent_id, conversation.title) == (tenants["a_agent"].pk, "")


@pytest.mark.parametrize(
    ("path", "parameter", "foreign"),
    [
        ("agents/", "tool", "tool"),
        ("agents/", "knowledge_base", "kb"),
        ("conversations/", "agent", "agent"),
        ("conversations/", "owner", "globex_member"),
    ],
)
def test_a_filter_on_another_organizations_object_leaks_nothing(
    tenants, other_organization, client_for, path, parameter, foreign
):
    target = tenants[foreign]
    value = target.user_id if isinstance(target, Membership) else target.pk
    response = client_for(tenants["owner"].user).get(f"{ACME}/{path}", {parameter: str(value)})
    if response.status_code == 400:
        assert parameter in response.json()["error"]["details"]
        return
    assert response.status_code == 200, response.content
    assert response.json()["results"] == []


@pytest.mark.parametrize("resource", list(SHAREABLE))
def test_a_grant_cannot_name_another_organizations_member_or_role(
    tenants, organization, client_for, resource
):
    path, _model, factory, user_grant = SHAREABLE[resource]
    obj = factory(organization=organization)
    client = client_for(tenants["owner"].user)
    before = grant_count()
    for body, field in (
        ({"user": str(tenants["globex_member"].user_id), "actions": ["read"]}, "user"),
        ({"role": tenants["role"].key, "actions": ["read"]}, "role"),
    ):
        response = client.post(f"{ACME}/{path}/{obj.pk}/grants/", body, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()["error"]["details"]
    assert grant_count() == before
    assert not user_grant.objects.filter(content_object=obj).exists()


# --- Platform staff and anonymous callers ---------------------------------------------------


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True, is_superuser=True)


def test_staff_superuser_who_is_not_a_member_gets_not_found(tenants, staff, client_for):
    agent = tenants["a_agent"]
    client = client_for(staff)
    for path in (
        "",
        "agents/",
        f"agents/{agent.pk}/",
        f"agents/{agent.pk}/grants/",
        "members/",
        "roles/",
        "conversations/",
    ):
        response = client.get(f"{ACME}/{path}")
        assert response.status_code == 404, (path, response.content)
    assert client.patch(f"{ACME}/agents/{agent.pk}/", {"name": "Staff"}).status_code == 404
    assert client.delete(f"{ACME}/").status_code == 404
    listed = client.get("/api/v1/orgs/").json()["results"]
    assert listed == []
    assert Agent.objects.get(pk=agent.pk).name == "Acme agent"
    assert Organization.objects.filter(slug="acme").exists()


def test_staff_without_superuser_has_no_object_permission(tenants):
    staff_only = UserFactory(is_staff=True)
    agent = tenants["a_agent"]
    assert not staff_only.has_perm("agents.agents:read", agent)
    assert not staff_only.has_perm("organizations.organization:read", agent.organization)


def test_staff_without_superuser_has_no_permission_without_an_object(db):
    assert not UserFactory(is_staff=True).has_perm("agents.agents:read")


def test_staff_superuser_has_no_object_permission_in_an_organization(tenants, staff):
    agent = tenants["a_agent"]
    assert not staff.has_perm("agents.agents:read", agent)
    assert not staff.has_perm("organizations.organization:delete", agent.organization)


def test_staff_superuser_has_no_permission_without_an_object(staff):
    assert not staff.has_perm("agents.agents:read")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/orgs/"),
        ("post", "/api/v1/orgs/"),
        ("get", f"{ACME}/"),
        ("delete", f"{ACME}/"),
        ("get", f"{ACME}/agents/"),
        ("post", f"{ACME}/agents/"),
        ("get", f"{ACME}/members/"),
        ("post", f"{ACME}/roles/"),
        ("get", "/api/v1/me/"),
    ],
)
def test_anonymous_caller_is_not_authenticated(organization, api_client, method, path):
    body = {"name": "Anon", "model_name": "gpt-4o-mini", "slug": "anon"}
    response = getattr(api_client, method)(path, body, format="json")
    # API-key (and token) authentication offer a challenge (WWW-Authenticate): 401, not 403.
    assert response.status_code == 401, response.content
    assert error_code(response) == "not_authenticated"
    assert not Agent.objects.exists()
    assert list(Organization.objects.values_list("slug", flat=True)) == ["acme"]


def test_anonymous_caller_cannot_reach_an_object(tenants, api_client):
    agent = tenants["a_agent"]
    for method in ("get", "patch", "delete"):
        response = getattr(api_client, method)(f"{ACME}/agents/{agent.pk}/", {"name": "A"})
        assert (response.status_code, error_code(response)) == (401, "not_authenticated")
    response = api_client.post(
        f"{ACME}/agents/{agent.pk}/grants/", {"role": "viewer", "actions": ["manage"]}
    )
    assert (response.status_code, error_code(response)) == (401, "not_authenticated")
    assert Agent.objects.get(pk=agent.pk).name == "Acme agent"
    assert not AgentRoleGrant.objects.exists()


# --- The last Owner ----------------------------------------------------------------------


def test_the_last_owner_cannot_leave_be_removed_or_be_demoted(
    organization, owner, member_of, client_for
):
    second = member_of(organization, BuiltinRole.OWNER)
    admin = member_of(organization, BuiltinRole.ADMIN)
    client = client_for(owner.user)

    # With two Owners, one may remove the other.
    assert client.delete(f"{ACME}/members/{second.pk}/").status_code == 204

    leave = client.delete(f"{ACME}/members/{owner.pk}/")
    demote = client.patch(f"{ACME}/members/{owner.pk}/", {"role": "admin"}, format="json")
    for response in (leave, demote):
        assert response.status_code == 409, response.content
        assert error_code(response) == "last_owner"
    by_admin = client_for(admin.user).delete(f"{ACME}/members/{owner.pk}/")
    assert by_admin.status_code == 403
    with pytest.raises(LastOwnerError):
        membership_remove(membership=owner, acting=owner)
    assert role_key(owner) == "owner"
    assert Membership.objects.filter(organization=organization, role__key="owner").count() == 1


def test_an_owner_may_step_down_once_another_owner_exists(
    organization, owner, member_of, client_for
):
    client = client_for(owner.user)
    admin = member_of(organization, BuiltinRole.ADMIN)
    promoted = client.patch(f"{ACME}/members/{admin.pk}/", {"role": "owner"}, format="json")
    assert promoted.status_code == 200, promoted.content
    stepped_down = client.patch(f"{ACME}/members/{owner.pk}/", {"role": "admin"}, format="json")
    assert stepped_down.status_code == 200, stepped_down.content
    assert (role_key(owner), role_key(admin)) == ("admin", "owner")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_owners_leaving_at_once_leave_one_owner(organization, member_of):
    """The Owners are locked while the count is taken: of two leaving together, one stays."""
    first = member_of(organization, BuiltinRole.OWNER)
    second = member_of(organization, BuiltinRole.OWNER)
    barrier = threading.Barrier(2)
    outcomes = []

    def leave(membership):
        try:
            barrier.wait(timeout=5)
            membership_remove(membership=membership, acting=membership)
            outcomes.append("left")
        except LastOwnerError:
            outcomes.append("last_owner")
        finally:
            close_old_connections()

    threads = [threading.Thread(target=leave, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["last_owner", "left"]
    assert Membership.objects.filter(organization=organization, role__key="owner").count() == 1


def test_a_member_without_members_read_may_still_leave(
    organization, owner, member_of, client_for, custom_role
):
    member = member_of(organization, custom_role("minimal", ["organization:read"]))
    response = client_for(member.user).delete(f"{ACME}/members/{member.pk}/")
    assert response.status_code == 204, response.content
    assert not Membership.objects.filter(pk=member.pk).exists()


def test_any_built_in_member_may_leave(organization, owner, member_of, client_for):
    """The control of the test above: members:read held, leaving needs nothing more."""
    for role in (BuiltinRole.VIEWER, BuiltinRole.EDITOR, BuiltinRole.ADMIN):
        member = member_of(organization, role)
        response = client_for(member.user).delete(f"{ACME}/members/{member.pk}/")
        assert response.status_code == 204, response.content
        assert not Membership.objects.filter(pk=member.pk).exists()


# --- A change counts on the very next request ----------------------------------------------


def test_a_demoted_admin_is_refused_on_the_next_request(organization, owner, member_of):
    admin = member_of(organization, BuiltinRole.ADMIN)
    session = APIClient()
    session.force_login(admin.user)  # a real session, kept across the role change
    assert session.patch(f"{ACME}/", {"name": "Before"}, format="json").status_code == 200

    owner_client = APIClient()
    owner_client.force_login(owner.user)
    demoted = owner_client.patch(f"{ACME}/members/{admin.pk}/", {"role": "viewer"}, format="json")
    assert demoted.status_code == 200, demoted.content

    after = session.patch(f"{ACME}/", {"name": "After"}, format="json")
    assert after.status_code == 403, after.content
    assert Organization.objects.get(pk=organization.pk).name == "Before"
    created = session.post(f"{ACME}/agents/", {"name": "A", "model_name": "m"}, format="json")
    assert created.status_code == 403
    assert not Agent.objects.exists()


def test_a_promoted_viewer_is_allowed_on_the_next_request(organization, owner, member_of):
    viewer = member_of(organization, BuiltinRole.VIEWER)
    session = APIClient()
    session.force_login(viewer.user)
    body = {"name": "A", "model_name": "gpt-4o-mini"}
    assert session.post(f"{ACME}/agents/", body, format="json").status_code == 403
    Membership.objects.filter(pk=viewer.pk).update(role=builtin_role(BuiltinRole.EDITOR))
    assert session.post(f"{ACME}/agents/", body, format="json").status_code == 201


def test_a_narrowed_custom_role_is_refused_on_the_next_request(
    organization, owner, member_of, custom_role
):
    role = custom_role("writer", ["agents:read", "agents:create"])
    member = member_of(organization, role)
    session = APIClient()
    session.force_login(member.user)
    first = session.post(f"{ACME}/agents/", {"name": "A", "model_name": "m"}, format="json")
    assert first.status_code == 201, first.content

    owner_client = APIClient()
    owner_client.force_login(owner.user)
    narrowed = owner_client.patch(
        f"{ACME}/roles/{role.pk}/", {"permissions": ["agents:read"]}, format="json"
    )
    assert narrowed.status_code == 200, narrowed.content

    second = session.post(f"{ACME}/agents/", {"name": "B", "model_name": "m"}, format="json")
    assert second.status_code == 403, second.content
    assert list(Agent.objects.values_list("name", flat=True)) == ["A"]


def test_a_removed_member_is_not_found_on_the_next_request(organization, owner, member_of):
    editor = member_of(organization, BuiltinRole.EDITOR)
    session = APIClient()
    session.force_login(editor.user)
    assert session.get(f"{ACME}/agents/").status_code == 200
    owner_client = APIClient()
    owner_client.force_login(owner.user)
    assert owner_client.delete(f"{ACME}/members/{editor.pk}/").status_code == 204
    assert session.get(f"{ACME}/agents/").status_code == 404


# --- Removal revokes the member's grants there, and only there -------------------------------


def test_removing_a_member_revokes_their_grants_in_that_organization_only(
    organization, other_organization, owner, member_of, client_for
):
    acme_member = member_of(organization, BuiltinRole.VIEWER)
    user = acme_member.user
    member_of(other_organization, BuiltinRole.OWNER)
    globex_membership = Membership.objects.create(
        organization=other_organization, user=user, role=builtin_role(BuiltinRole.VIEWER)
    )
    acme_objects = [
        AgentFactory(organization=organization),
        ToolFactory(organization=organization),
        KnowledgeBaseFactory(organization=organization),
        WorkflowFactory(organization=organization),
    ]
    globex_objects = [
        AgentFactory(organization=other_organization),
        ToolFactory(organization=other_organization),
        KnowledgeBaseFactory(organization=other_organization),
        WorkflowFactory(organization=other_organization),
    ]
    for obj in acme_objects + globex_objects:
        grant(obj, user, "read", "update")
    globex_grants = grants_of_user_in(user, other_organization)
    assert len(globex_grants) == 8
    assert len(grants_of_user_in(user, organization)) == 8
    agent = acme_objects[0]
    member_client = client_for(user)
    # The control: while a member, the grant lets this viewer update the agent.
    granted = member_client.patch(f"{ACME}/agents/{agent.pk}/", {"description": "Granted"})
    assert granted.status_code == 200, granted.content

    owner_client = client_for(owner.user)
    assert owner_client.delete(f"{ACME}/members/{acme_member.pk}/").status_code == 204

    assert grants_of_user_in(user, organization) == set()
    assert grants_of_user_in(user, other_organization) == globex_grants
    assert Membership.objects.filter(pk=globex_membership.pk).exists()

    # Coming back does not bring the grants back.
    added = owner_client.post(
        f"{ACME}/members/", {"email": user.email, "role": "viewer"}, format="json"
    )
    assert added.status_code == 201, added.content
    assert grants_of_user_in(user, organization) == set()
    response = member_client.patch(f"{ACME}/agents/{agent.pk}/", {"description": "Back"})
    assert response.status_code == 403, response.content
    assert Agent.objects.get(pk=agent.pk).description == "Granted"
