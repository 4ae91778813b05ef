"""Every built-in role, and a non-member, against every resource and action, through the API.

Expectations are read from `catalog.BUILTIN_ROLE_PERMISSIONS` (with
`catalog.permissions_imply`), never written by hand: the role's success code
when the role implies `resource:action`, 403 for a member without it, 404 for
a non-member (a user who is a member of another organization only). A refused
request writes nothing; an allowed one writes exactly what it asked for.

How each action is exercised (`REQUESTS` below):

- create: POST the list endpoint with a valid body (fine-tuning jobs: a multipart
  upload of a valid .jsonl file; members: add an existing user as viewer);
- read: GET the list and GET one object, both following the rule;
- update: PATCH one object (members: a viewer made editor; fine-tuning jobs:
  POST .../{id}/cancel/ on a queued job; organization: its name);
- delete: DELETE one object (fine-tuning: a finished job; members: a viewer;
  conversations: one the caller owns);
- manage: agents, knowledge bases, workflows, tools: POST .../{id}/grants/ giving
  `read` to another member; members: POST /roles/ defining a custom role holding
  ["agents:read"]; conversations: DELETE a conversation someone else owns (the
  policy: its owner, or conversations:manage).

Pairs without an endpoint are left out (`WITHOUT_ENDPOINT`): organization create
(any signed-in user may create one: `test_any_signed_in_user_may_create_an_organization`),
organization manage, finetuning_jobs manage, api_keys (its role-by-action table,
with the own-keys policy, is in tests/apikeys/test_api.py) and audit_logs other
than read (entries are append-only: tests/audit).
"""

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from apps.access import catalog
from apps.access.models import Role
from apps.agents.models import Agent, AgentUserGrant
from apps.audit.models import AuditEntry
from apps.conversations.models import Conversation
from apps.finetuning.models import FineTuningJob
from apps.knowledge.models import KnowledgeBase, KnowledgeBaseUserGrant
from apps.organizations.models import BuiltinRole, Membership, Organization
from apps.tools.models import Tool, ToolUserGrant
from apps.workflows.models import Workflow, WorkflowUserGrant
from tests.agents.factories import AgentFactory
from tests.factories import UserFactory
from tests.finetuning.factories import VALID_LINE, FineTuningJobFactory
from tests.knowledge.factories import KnowledgeBaseFactory
from tests.tools.factories import ToolFactory
from tests.workflows.factories import WorkflowFactory, definition, step

pytestmark = pytest.mark.django_db

NON_MEMBER = "non-member"
ROLES = (catalog.OWNER, catalog.ADMIN, catalog.EDITOR, catalog.VIEWER, NON_MEMBER)
ORG = "/api/v1/orgs/acme"


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    """Uploaded training files land in a directory of this test's own."""
    settings.MEDIA_ROOT = str(tmp_path / "media")


@dataclass
class World:
    """The acting organization, the caller, and the people requests are about."""

    organization: Organization
    actor: object  # the calling user
    client: object
    viewer: Membership  # another member: target of member changes and of grants
    outsider: object  # an existing user who is not a member, to be added


@dataclass
class Attempt:
    """What a table entry did: the responses that must follow the rule, and what it wrote.

    `success` is the status an allowed caller gets. `wrote()` says whether the
    change the request asked for is in the database (None for reads). `listing`
    is the list response of a read and the id that should (or should not) be in it.
    """

    responses: list
    success: int
    wrote: Callable[[], bool] | None = None
    listing: tuple | None = None
    listing_in_organization: bool = True


def result_ids(response) -> set[str]:
    body = response.json()
    return {item["id"] for item in body["results"]}


# --- Shareable content: agents, knowledge bases, workflows, tools --------------------------


@dataclass(frozen=True)
class Shareable:
    path: str
    model: type
    user_grant: type
    make: Callable
    create_body: Callable[[World], dict]
    update: tuple[str, object]


SHAREABLE = {
    "agents": Shareable(
        path="agents",
        model=Agent,
        user_grant=AgentUserGrant,
        make=lambda org: AgentFactory(organization=org),
        create_body=lambda world: {"name": "Matrix agent", "model_name": "gpt-4o-mini"},
        update=("description", "Changed by the matrix"),
    ),
    "knowledge_bases": Shareable(
        path="knowledge-bases",
        model=KnowledgeBase,
        user_grant=KnowledgeBaseUserGrant,
        make=lambda org: KnowledgeBaseFactory(organization=org),
        create_body=lambda world: {"name": "Matrix handbook"},
        update=("description", "Changed by the matrix"),
    ),
    "workflows": Shareable(
        path="workflows",
        model=Workflow,
        user_grant=WorkflowUserGrant,
        make=lambda org: WorkflowFactory(organization=org),
        create_body=lambda world: {"name": "Matrix workflow", "definition": definition(step("a"))},
        update=("description", "Changed by the matrix"),
    ),
    "tools": Shareable(
        path="tools",
        model=Tool,
        user_grant=ToolUserGrant,
        make=lambda org: ToolFactory(organization=org),
        create_body=lambda world: {"name": "matrix_tool", "kind": "function"},
        update=("description", "Changed by the matrix"),
    ),
}


def _count_in(model, organization) -> Callable[[], int]:
    return lambda: model.objects.filter(organization=organization).count()


def shareable_create(spec: Shareable):
    def run(world: World) -> Attempt:
        count = _count_in(spec.model, world.organization)
        before = count()
        response = world.client.post(f"{ORG}/{spec.path}/", spec.create_body(world), format="json")
        return Attempt([response], 201, wrote=lambda: count() == before + 1)

    return run


def shareable_read(spec: Shareable):
    def run(world: World) -> Attempt:
        obj = spec.make(world.organization)
        listing = world.client.get(f"{ORG}/{spec.path}/")
        detail = world.client.get(f"{ORG}/{spec.path}/{obj.pk}/")
        return Attempt([detail], 200, listing=(listing, str(obj.pk)))

    return run


def shareable_update(spec: Shareable):
    field, value = spec.update

    def run(world: World) -> Attempt:
        obj = spec.make(world.organization)
        response = world.client.patch(f"{ORG}/{spec.path}/{obj.pk}/", {field: value}, format="json")
        return Attempt(
            [response],
            200,
            wrote=lambda: getattr(spec.model.objects.get(pk=obj.pk), field) == value,
        )

    return run


def shareable_delete(spec: Shareable):
    def run(world: World) -> Attempt:
        obj = spec.make(world.organization)
        response = world.client.delete(f"{ORG}/{spec.path}/{obj.pk}/")
        return Attempt(
            [response], 204, wrote=lambda: not spec.model.objects.filter(pk=obj.pk).exists()
        )

    return run


def shareable_manage(spec: Shareable):
    def run(world: World) -> Attempt:
        obj = spec.make(world.organization)
        response = world.client.post(
            f"{ORG}/{spec.path}/{obj.pk}/grants/",
            {"user": str(world.viewer.user_id), "actions": ["read"]},
            format="json",
        )
        return Attempt(
            [response],
            201,
            wrote=lambda: spec.user_grant.objects.filter(content_object=obj).exists(),
        )

    return run


# --- Organization -------------------------------------------------------------------------


def organization_read(world: World) -> Attempt:
    detail = world.client.get(f"{ORG}/")
    listing = world.client.get("/api/v1/orgs/")
    return Attempt(
        [detail],
        200,
        listing=(listing, str(world.organization.pk)),
        listing_in_organization=False,
    )


def organization_update(world: World) -> Attempt:
    response = world.client.patch(f"{ORG}/", {"name": "Renamed by the matrix"}, format="json")
    return Attempt(
        [response],
        200,
        wrote=lambda: (
            Organization.objects.get(pk=world.organization.pk).name == "Renamed by the matrix"
        ),
    )


def organization_delete(world: World) -> Attempt:
    response = world.client.delete(f"{ORG}/")
    return Attempt(
        [response],
        204,
        wrote=lambda: not Organization.objects.filter(pk=world.organization.pk).exists(),
    )


# --- Members and roles --------------------------------------------------------------------


def members_create(world: World) -> Attempt:
    response = world.client.post(
        f"{ORG}/members/", {"email": world.outsider.email, "role": "viewer"}, format="json"
    )
    return Attempt(
        [response],
        201,
        wrote=lambda: Membership.objects.filter(
            organization=world.organization, user=world.outsider
        ).exists(),
    )


def members_read(world: World) -> Attempt:
    listing = world.client.get(f"{ORG}/members/")
    detail = world.client.get(f"{ORG}/members/{world.viewer.pk}/")
    return Attempt([detail], 200, listing=(listing, str(world.viewer.pk)))


def members_update(world: World) -> Attempt:
    response = world.client.patch(
        f"{ORG}/members/{world.viewer.pk}/", {"role": "editor"}, format="json"
    )
    return Attempt(
        [response],
        200,
        wrote=lambda: Membership.objects.get(pk=world.viewer.pk).role.key == "editor",
    )


def members_delete(world: World) -> Attempt:
    response = world.client.delete(f"{ORG}/members/{world.viewer.pk}/")
    return Attempt(
        [response], 204, wrote=lambda: not Membership.objects.filter(pk=world.viewer.pk).exists()
    )


def members_manage(world: World) -> Attempt:
    response = world.client.post(
        f"{ORG}/roles/",
        {"key": "matrix-role", "name": "Matrix role", "permissions": ["agents:read"]},
        format="json",
    )
    return Attempt(
        [response],
        201,
        wrote=lambda: Role.objects.filter(
            organization=world.organization, key="matrix-role"
        ).exists(),
    )


# --- Conversations ------------------------------------------------------------------------


def make_conversation(world: World, owner) -> Conversation:
    agent = AgentFactory(organization=world.organization)
    return Conversation.objects.create(
        organization=world.organization, agent=agent, title="Matrix", owner=owner, created_by=owner
    )


def conversations_create(world: World) -> Attempt:
    agent = AgentFactory(organization=world.organization)
    count = _count_in(Conversation, world.organization)
    before = count()
    response = world.client.post(
        f"{ORG}/conversations/", {"agent": str(agent.pk), "title": "Matrix"}, format="json"
    )
    return Attempt([response], 201, wrote=lambda: count() == before + 1)


def conversations_read(world: World) -> Attempt:
    conversation = make_conversation(world, world.viewer.user)
    listing = world.client.get(f"{ORG}/conversations/")
    detail = world.client.get(f"{ORG}/conversations/{conversation.pk}/")
    return Attempt([detail], 200, listing=(listing, str(conversation.pk)))


def conversations_update(world: World) -> Attempt:
    conversation = make_conversation(world, world.actor)
    response = world.client.patch(
        f"{ORG}/conversations/{conversation.pk}/", {"title": "Renamed"}, format="json"
    )
    return Attempt(
        [response],
        200,
        wrote=lambda: Conversation.objects.get(pk=conversation.pk).title == "Renamed",
    )


def _conversation_delete(world: World, owner) -> Attempt:
    conversation = make_conversation(world, owner)
    response = world.client.delete(f"{ORG}/conversations/{conversation.pk}/")
    return Attempt(
        [response],
        204,
        wrote=lambda: not Conversation.objects.filter(pk=conversation.pk).exists(),
    )


def conversations_delete(world: World) -> Attempt:
    """Delete a conversation the caller owns."""
    return _conversation_delete(world, world.actor)


def conversations_manage(world: World) -> Attempt:
    """Delete a conversation someone else owns: its owner or conversations:manage only."""
    return _conversation_delete(world, world.viewer.user)


# --- Fine-tuning jobs ---------------------------------------------------------------------


def finetuning_create(world: World) -> Attempt:
    count = _count_in(FineTuningJob, world.organization)
    before = count()
    upload = SimpleUploadedFile("train.jsonl", VALID_LINE, content_type="application/jsonl")
    response = world.client.post(
        f"{ORG}/finetuning-jobs/",
        {"base_model": "gpt-4o-mini", "training_file": upload},
        format="multipart",
    )
    return Attempt([response], 201, wrote=lambda: count() == before + 1)


def finetuning_read(world: World) -> Attempt:
    job = FineTuningJobFactory(organization=world.organization)
    listing = world.client.get(f"{ORG}/finetuning-jobs/")
    detail = world.client.get(f"{ORG}/finetuning-jobs/{job.pk}/")
    return Attempt([detail], 200, listing=(listing, str(job.pk)))


def audit_logs_read(world: World) -> Attempt:
    """List and read the organization's audit log (entries are written, never by request)."""
    job = FineTuningJobFactory(organization=world.organization)
    entry = AuditEntry.objects.get(organization=world.organization, object_pk=str(job.pk))
    listing = world.client.get(f"{ORG}/audit-logs/?object_id={job.pk}")
    detail = world.client.get(f"{ORG}/audit-logs/{entry.pk}/")
    return Attempt([detail], 200, listing=(listing, entry.pk))


def finetuning_update(world: World) -> Attempt:
    """Cancel a queued job: the one change a job allows."""
    job = FineTuningJobFactory(organization=world.organization)
    assert job.status == FineTuningJob.Status.QUEUED
    response = world.client.post(f"{ORG}/finetuning-jobs/{job.pk}/cancel/")
    return Attempt(
        [response],
        200,
        wrote=lambda: FineTuningJob.objects.get(pk=job.pk).status == FineTuningJob.Status.CANCELLED,
    )


def finetuning_delete(world: World) -> Attempt:
    job = FineTuningJobFactory(
        organization=world.organization,
        status=FineTuningJob.Status.SUCCEEDED,
        finished_at=timezone.now(),
    )
    response = world.client.delete(f"{ORG}/finetuning-jobs/{job.pk}/")
    return Attempt(
        [response], 204, wrote=lambda: not FineTuningJob.objects.filter(pk=job.pk).exists()
    )


# --- The table ----------------------------------------------------------------------------

REQUESTS: dict[tuple[str, str], Callable[[World], Attempt]] = {
    ("organization", "read"): organization_read,
    ("organization", "update"): organization_update,
    ("organization", "delete"): organization_delete,
    ("members", "create"): members_create,
    ("members", "read"): members_read,
    ("members", "update"): members_update,
    ("members", "delete"): members_delete,
    ("members", "manage"): members_manage,
    ("conversations", "create"): conversations_create,
    ("conversations", "read"): conversations_read,
    ("conversations", "update"): conversations_update,
    ("conversations", "delete"): conversations_delete,
    ("conversations", "manage"): conversations_manage,
    ("finetuning_jobs", "create"): finetuning_create,
    ("finetuning_jobs", "read"): finetuning_read,
    ("finetuning_jobs", "update"): finetuning_update,
    ("finetuning_jobs", "delete"): finetuning_delete,
    ("audit_logs", "read"): audit_logs_read,
    **{
        (resource, action): request_for(spec)
        for resource, spec in SHAREABLE.items()
        for action, request_for in (
            ("create", shareable_create),
            ("read", shareable_read),
            ("update", shareable_update),
            ("delete", shareable_delete),
            ("manage", shareable_manage),
        )
    },
}

WITHOUT_ENDPOINT = frozenset(
    {
        ("organization", "create"),  # any signed-in user: tested on its own below
        ("organization", "manage"),
        ("finetuning_jobs", "manage"),
        *(("api_keys", action) for action in catalog.ACTIONS),
        # The log is written by the platform, never by a request: reading is all there is.
        *(("audit_logs", action) for action in catalog.ACTIONS if action != "read"),
    }
)


def test_the_table_covers_every_permission_with_an_endpoint():
    every = {(resource, action) for resource in catalog.RESOURCES for action in catalog.ACTIONS}
    assert set(REQUESTS) | WITHOUT_ENDPOINT == every
    assert not set(REQUESTS) & WITHOUT_ENDPOINT


def role_allows(role: str, resource: str, action: str) -> bool:
    if role == NON_MEMBER:
        return False
    held = catalog.BUILTIN_ROLE_PERMISSIONS[role]
    return catalog.permissions_imply(held, catalog.permission_name(resource, action))


@pytest.fixture
def world(organization, other_organization, owner, member_of, client_for):
    """acme with an Owner besides the caller, a viewer, and a user who is not a member.

    `owner` (the fixture) is always there, so the caller acting as an Owner on
    members never meets the last-Owner rule.
    """

    def make(role: str) -> World:
        if role == NON_MEMBER:
            actor = member_of(other_organization, BuiltinRole.OWNER).user
        else:
            actor = member_of(organization, role).user
        return World(
            organization=organization,
            actor=actor,
            client=client_for(actor),
            viewer=member_of(organization, BuiltinRole.VIEWER),
            outsider=UserFactory(),
        )

    return make


CASES = [
    pytest.param(role, resource, action, id=f"{role}-{resource}-{action}")
    for role in ROLES
    for (resource, action) in REQUESTS
]


@pytest.mark.parametrize(("role", "resource", "action"), CASES)
def test_role_matrix(world, role, resource, action):
    """The caller gets what the catalog says its role holds, and a refusal writes nothing."""
    current = world(role)
    attempt = REQUESTS[(resource, action)](current)
    allowed = role_allows(role, resource, action)
    expected = attempt.success if allowed else (404 if role == NON_MEMBER else 403)

    for response in attempt.responses:
        assert response.status_code == expected, response.content
        if not allowed:
            code = "not_found" if role == NON_MEMBER else "permission_denied"
            assert response.json()["error"]["code"] == code

    if attempt.listing is not None:
        listing, object_id = attempt.listing
        if allowed:
            assert listing.status_code == 200, listing.content
            assert object_id in result_ids(listing)
        elif not attempt.listing_in_organization:
            # The caller's own organizations: answered to anyone signed in, without this one.
            assert listing.status_code == 200
            assert object_id not in result_ids(listing)
        elif role == NON_MEMBER:
            assert listing.status_code == 404
        elif resource in catalog.GRANTABLE_RESOURCES:
            # Lists of shareable objects are narrowed to what was granted: nothing here.
            assert listing.status_code == 200
            assert object_id not in result_ids(listing)
        else:
            assert listing.status_code == 403

    if attempt.wrote is not None:
        assert attempt.wrote() is allowed


@pytest.mark.parametrize("role", ROLES)
def test_any_signed_in_user_may_create_an_organization(world, role):
    """Creating an organization needs no permission in any other; the creator is its Owner."""
    current = world(role)
    slug = f"new-{uuid.uuid4().hex[:8]}"
    response = current.client.post("/api/v1/orgs/", {"name": "Fresh", "slug": slug})
    assert response.status_code == 201, response.content
    created = Organization.objects.get(slug=slug)
    membership = Membership.objects.get(organization=created)
    assert membership.user == current.actor
    assert membership.role.key == catalog.OWNER


def test_a_user_without_any_membership_may_create_an_organization(client_for):
    user = UserFactory()
    response = client_for(user).post("/api/v1/orgs/", {"name": "Solo", "slug": "solo"})
    assert response.status_code == 201, response.content
    assert Membership.objects.get(organization__slug="solo").user == user
