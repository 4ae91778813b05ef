"""Changes made through the API are recorded: what changed, by whom, where, from where.

Each test makes the real API call (with a JWT or an API key, a client IP, a user
agent and a request id) and reads the entries that request wrote.
"""

import json
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.apikeys.models import ApiKey
from apps.audit.models import AuditEntry
from apps.knowledge.models import Document
from apps.knowledge.tasks import ingest_document
from apps.workflows.models import WorkflowRun
from apps.workflows.tasks import execute_workflow_run
from tests.agents.factories import AgentFactory
from tests.apikeys.factories import issue_key
from tests.factories import UserFactory
from tests.knowledge.factories import KnowledgeBaseFactory
from tests.tools.factories import ToolFactory
from tests.workflows.factories import WorkflowFactory, definition, step

from .conftest import api_caller, as_text, assert_made_by, only, recorded, recorded_by

pytestmark = pytest.mark.django_db

ORG = "/api/v1/orgs/acme"
MASK = "********"
AUDIT_INSERT = re.compile(r'INSERT INTO "?audit_auditentry"?', re.IGNORECASE)


@pytest.fixture
def media_root(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return settings.MEDIA_ROOT


def call(method, user, url, request_id, body=None, **kwargs):
    """One request by `user` (JWT) with its own request id; fails unless it succeeded."""
    client = api_caller(user, request_id=request_id)
    response = getattr(client, method)(url, body, format=kwargs.pop("format", "json"), **kwargs)
    assert response.status_code < 300, response.content
    return response


def digest_of(text: str) -> str:
    """The digest the log keeps of a text: keyed, so that short texts cannot be guessed."""
    from django.conf import settings
    from django.utils.crypto import salted_hmac

    secret = settings.AUDIT_CHAIN_KEY or settings.SECRET_KEY
    keyed = salted_hmac("apps.audit.digest", text, secret=secret, algorithm="sha256")
    return f"hmac-sha256:{keyed.hexdigest()[:16]} ({len(text)} chars)"


# --- create, update and delete of each kind of object ------------------------------


def test_agent_create_update_and_delete_are_recorded_with_the_callers_context(owner, organization):
    user = owner.user
    agent_id = call(
        "post", user, f"{ORG}/agents/", "agent-create", {"name": "Bot", "model_name": "m1"}
    ).json()["id"]
    call("patch", user, f"{ORG}/agents/{agent_id}/", "agent-update", {"temperature": 1.5})
    call("delete", user, f"{ORG}/agents/{agent_id}/", "agent-delete")

    created = only(recorded_by("agent-create"))
    updated = only(recorded_by("agent-update"))
    deleted = only(recorded_by("agent-delete"))
    assert [created.event, updated.event, deleted.event] == ["create", "update", "delete"]
    for entry in (created, updated, deleted):
        assert entry.resource_type == "agents.agent"
        assert entry.object_pk == agent_id
        assert entry.object_repr == "Bot"
    assert created.changes["name"] == [None, "Bot"]
    assert created.changes["model_name"] == [None, "m1"]
    assert updated.changes == {"temperature": ["0.70", "1.50"]}
    assert deleted.changes["name"] == ["Bot", None]
    assert_made_by(created, user=user, organization=organization, request_id="agent-create")
    assert_made_by(updated, user=user, organization=organization, request_id="agent-update")
    assert_made_by(deleted, user=user, organization=organization, request_id="agent-delete")


def test_a_request_made_with_an_api_key_records_the_key_and_its_creator(owner, organization):
    key, raw_key = issue_key(owner, ["agents:manage"], name="deploy bot")
    client = api_caller(raw_key=raw_key, request_id="by-key")

    response = client.post(f"{ORG}/agents/", {"name": "Keyed", "model_name": "m"}, format="json")

    assert response.status_code == 201
    entry = only(recorded_by("by-key"))
    assert entry.event == "create"
    assert entry.object_pk == response.json()["id"]
    assert_made_by(
        entry, user=owner.user, organization=organization, request_id="by-key", api_key=key
    )
    assert entry.api_key_prefix.startswith("agentry_")
    assert raw_key.startswith(entry.api_key_prefix)


def test_tool_credentials_are_masked_and_never_stored_in_clear(owner, organization):
    secret, new_secret = "sk-live-ORIGINAL-51f0c2", "sk-live-REPLACED-9a7e44"
    user = owner.user
    body = {"name": "crm", "kind": "http", "credentials": {"token": secret}}
    tool_id = call("post", user, f"{ORG}/tools/", "tool-create", body).json()["id"]
    call(
        "patch",
        user,
        f"{ORG}/tools/{tool_id}/",
        "tool-update",
        {"credentials": {"token": new_secret}},
    )
    call("patch", user, f"{ORG}/tools/{tool_id}/", "tool-rename", {"description": "CRM"})
    call("delete", user, f"{ORG}/tools/{tool_id}/", "tool-delete")

    created = only(recorded_by("tool-create"))
    updated = only(recorded_by("tool-update"))
    renamed = only(recorded_by("tool-rename"))
    deleted = only(recorded_by("tool-delete"))
    assert created.changes["credentials"] == ["None", MASK]
    assert updated.changes == {"credentials": [MASK, MASK]}
    assert renamed.changes == {"description": ["", "CRM"]}
    assert deleted.changes["credentials"] == [MASK, "None"]
    for entry in (created, updated, renamed, deleted):
        assert entry.resource_type == "tools.tool"
        assert_made_by(entry, user=user, organization=organization, request_id=entry.cid)
        assert secret not in as_text(entry)
        assert new_secret not in as_text(entry)
        assert "sk-live" not in json.dumps(entry.changes)
    listed = api_caller(user).get(f"{ORG}/audit-logs/", {"resource_type": "tools.tool"})
    assert listed.status_code == 200
    assert len(listed.json()["results"]) == 4
    assert "sk-live" not in listed.content.decode()


def test_knowledge_base_create_update_and_delete_are_recorded(owner, organization):
    user = owner.user
    kb_id = call("post", user, f"{ORG}/knowledge-bases/", "kb-create", {"name": "Handbook"}).json()[
        "id"
    ]
    call("patch", user, f"{ORG}/knowledge-bases/{kb_id}/", "kb-update", {"description": "HR"})
    call("delete", user, f"{ORG}/knowledge-bases/{kb_id}/", "kb-delete")

    created, updated, deleted = (
        only(recorded_by(request_id)) for request_id in ("kb-create", "kb-update", "kb-delete")
    )
    assert [created.event, updated.event, deleted.event] == ["create", "update", "delete"]
    assert created.changes["name"] == [None, "Handbook"]
    assert updated.changes == {"description": ["", "HR"]}
    assert deleted.changes["name"] == ["Handbook", None]
    for entry in (created, updated, deleted):
        assert (entry.resource_type, entry.object_pk) == ("knowledge.knowledgebase", kb_id)
        assert_made_by(entry, user=user, organization=organization, request_id=entry.cid)


def test_workflow_create_update_and_delete_are_recorded(owner, organization):
    user = owner.user
    body = {"name": "Nightly", "definition": definition(step("only"))}
    workflow_id = call("post", user, f"{ORG}/workflows/", "wf-create", body).json()["id"]
    call("patch", user, f"{ORG}/workflows/{workflow_id}/", "wf-update", {"name": "Hourly"})
    call("delete", user, f"{ORG}/workflows/{workflow_id}/", "wf-delete")

    created, updated, deleted = (
        only(recorded_by(request_id)) for request_id in ("wf-create", "wf-update", "wf-delete")
    )
    assert created.changes["definition"] == [None, definition(step("only"))]
    assert updated.changes == {"name": ["Nightly", "Hourly"]}
    assert deleted.event == "delete"
    for entry in (created, updated, deleted):
        assert (entry.resource_type, entry.object_pk) == ("workflows.workflow", workflow_id)
        assert_made_by(entry, user=user, organization=organization, request_id=entry.cid)


def test_conversation_create_update_and_delete_are_recorded(owner, organization):
    user = owner.user
    agent = AgentFactory(organization=organization)
    body = {"agent": str(agent.pk), "title": "Refund"}
    conversation_id = call("post", user, f"{ORG}/conversations/", "conv-create", body).json()["id"]
    call(
        "patch",
        user,
        f"{ORG}/conversations/{conversation_id}/",
        "conv-update",
        {"title": "Refund #42"},
    )
    call("delete", user, f"{ORG}/conversations/{conversation_id}/", "conv-delete")

    created = only(recorded_by("conv-create"))
    updated = only(recorded_by("conv-update"))
    deleted = only(recorded_by("conv-delete", resource_type="conversations.conversation"))
    assert created.event == "create"
    assert created.changes["title"] == [None, "Refund"]
    assert created.changes["agent"] == [None, str(agent.pk)]
    assert updated.changes == {"title": ["Refund", "Refund #42"]}
    assert deleted.event == "delete"
    for entry in (created, updated, deleted):
        assert (entry.resource_type, entry.object_pk) == (
            "conversations.conversation",
            conversation_id,
        )
        assert_made_by(entry, user=user, organization=organization, request_id=entry.cid)


def test_message_content_is_recorded_as_a_digest_never_in_clear(owner, organization):
    user = owner.user
    agent = AgentFactory(organization=organization)
    conversation_id = call(
        "post", user, f"{ORG}/conversations/", "setup", {"agent": str(agent.pk)}
    ).json()["id"]
    messages = f"{ORG}/conversations/{conversation_id}/messages/"
    text, edited = "Please refund order 4242 to card ending 0071", "Refund order 4243 instead"

    message_id = call(
        "post", user, messages, "msg-create", {"role": "user", "content": text}
    ).json()["id"]
    call("patch", user, f"{messages}{message_id}/", "msg-update", {"content": edited})
    call("delete", user, f"{messages}{message_id}/", "msg-delete")

    created = only(recorded_by("msg-create", resource_type="conversations.message"))
    updated = only(recorded_by("msg-update", resource_type="conversations.message"))
    deleted = only(recorded_by("msg-delete", resource_type="conversations.message"))
    assert created.changes["content"] == ["None", digest_of(text)]
    assert updated.changes["content"] == [digest_of(text), digest_of(edited)]
    assert deleted.changes["content"][0] == digest_of(edited)
    assert [created.event, updated.event, deleted.event] == ["create", "update", "delete"]
    for entry in (created, updated, deleted):
        assert entry.object_pk == message_id
        assert_made_by(entry, user=user, organization=organization, request_id=entry.cid)
        stored = as_text(entry)
        assert "refund order" not in stored.lower(), "the message text is in the entry"
        assert "4242" not in stored
        assert "4243" not in stored


def test_finetuning_job_create_is_recorded(owner, organization, media_root):
    training = json.dumps(
        {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hi!"}]}
    ).encode()
    body = {
        "base_model": "gpt-4o-mini",
        "training_file": SimpleUploadedFile("train.jsonl", training),
    }

    job_id = call(
        "post", owner.user, f"{ORG}/finetuning-jobs/", "job-create", body, format="multipart"
    ).json()["id"]

    entry = only(recorded_by("job-create"))
    assert (entry.event, entry.resource_type, entry.object_pk) == (
        "create",
        "finetuning.finetuningjob",
        job_id,
    )
    assert entry.changes["base_model"] == [None, "gpt-4o-mini"]
    assert entry.changes["status"] == [None, "queued"]
    assert_made_by(entry, user=owner.user, organization=organization, request_id="job-create")


def test_organization_rename_and_api_key_policy_are_recorded(owner, organization):
    call("patch", owner.user, f"{ORG}/", "org-rename", {"name": "Acme Corp"})
    call("put", owner.user, f"{ORG}/api-key-policy/", "key-policy", {"max_lifetime_days": 90})

    renamed = only(recorded_by("org-rename"))
    assert (renamed.event, renamed.resource_type, renamed.object_pk) == (
        "update",
        "organizations.organization",
        str(organization.pk),
    )
    assert renamed.changes == {"name": ["Acme", "Acme Corp"]}
    # The first policy of an organization is created with its value: one entry.
    created = only(recorded_by("key-policy"))
    assert (created.event, created.resource_type) == ("create", "apikeys.apikeypolicy")
    assert created.changes["max_lifetime_days"] == [None, 90]

    call("put", owner.user, f"{ORG}/api-key-policy/", "key-policy-2", {"max_lifetime_days": 30})

    changed = only(recorded_by("key-policy-2"))
    assert (changed.event, changed.object_pk) == ("update", created.object_pk)
    assert changed.changes == {"max_lifetime_days": [90, 30]}
    for entry in (renamed, created, changed):
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)


# --- members, roles, grants -----------------------------------------------------------


def test_membership_add_role_change_and_removal_are_recorded(owner, organization):
    from apps.access.roles import builtin_role

    newcomer = UserFactory(email="newcomer@example.com")
    members = f"{ORG}/members/"
    body = {"email": "newcomer@example.com", "role": "viewer"}
    membership_id = call("post", owner.user, members, "member-add", body).json()["id"]
    call("patch", owner.user, f"{members}{membership_id}/", "member-role", {"role": "editor"})
    call("delete", owner.user, f"{members}{membership_id}/", "member-remove")

    added = only(recorded_by("member-add"))
    assert (added.event, added.resource_type, added.object_pk) == (
        "create",
        "organizations.membership",
        membership_id,
    )
    assert added.changes["user"] == [None, str(newcomer.pk)]
    assert added.changes["role"] == [None, str(builtin_role("viewer").pk)]

    # One entry: the membership's change, named as the security event it is.
    role_changed = only(recorded_by("member-role"))
    assert role_changed.event == "member.role_changed"
    assert (role_changed.resource_type, role_changed.object_pk) == (
        "organizations.membership",
        membership_id,
    )
    assert role_changed.changes == {
        "role": [str(builtin_role("viewer").pk), str(builtin_role("editor").pk)]
    }
    assert role_changed.additional_data == {
        "email": "newcomer@example.com",
        "from_role": "viewer",
        "to_role": "editor",
    }

    removed = only(recorded_by("member-remove", resource_type="organizations.membership"))
    assert (removed.event, removed.object_pk) == ("delete", membership_id)
    for entry in (added, role_changed, removed):
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)


def test_custom_role_create_and_update_record_the_permissions_added_and_removed(
    owner, organization
):
    body = {"key": "auditor", "name": "Auditor", "permissions": ["tools:read", "agents:read"]}
    role_id = call("post", owner.user, f"{ORG}/roles/", "role-create", body).json()["id"]
    call(
        "patch",
        owner.user,
        f"{ORG}/roles/{role_id}/",
        "role-update",
        {"name": "Auditors", "permissions": ["tools:read", "workflows:read"]},
    )
    call("patch", owner.user, f"{ORG}/roles/{role_id}/", "role-rename", {"name": "Readers"})

    created = only(recorded_by("role-create"))
    assert (created.event, created.resource_type, created.object_pk) == (
        "create",
        "access.role",
        role_id,
    )
    assert created.changes["key"] == [None, "auditor"]
    assert created.changes["name"] == [None, "Auditor"]
    assert created.changes["permissions"] == {
        "type": "m2m",
        "added": ["agents:read", "tools:read"],
        "removed": [],
    }
    assert created.additional_data == {"permissions": ["agents:read", "tools:read"]}
    changed = only(recorded_by("role-update"))
    assert (changed.event, changed.object_pk) == ("role.permissions_changed", role_id)
    assert changed.changes == {
        "name": ["Auditor", "Auditors"],
        "permissions": {"type": "m2m", "added": ["workflows:read"], "removed": ["agents:read"]},
    }
    assert changed.additional_data == {
        "added": ["workflows:read"],
        "removed": ["agents:read"],
        "permissions": ["tools:read", "workflows:read"],
    }
    renamed = only(recorded_by("role-rename"))
    assert (renamed.event, renamed.changes) == ("update", {"name": ["Auditors", "Readers"]})
    assert renamed.additional_data is None
    for entry in (created, changed, renamed):
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)


def test_grant_create_and_revoke_are_recorded_in_the_objects_organization(
    owner, organization, member_of
):
    grantee = member_of(organization, "viewer").user
    agent = AgentFactory(organization=organization, name="Shared bot")
    grants = f"{ORG}/agents/{agent.pk}/grants/"

    grant_id = call(
        "post", owner.user, grants, "grant-create", {"user": str(grantee.pk), "actions": ["update"]}
    ).json()[0]["id"]
    call("delete", owner.user, f"{grants}{grant_id}/", "grant-revoke")

    created = only(recorded_by("grant-create"))
    revoked = only(recorded_by("grant-revoke"))
    for entry in (created, revoked):
        assert (entry.resource_type, entry.object_pk) == ("agents.agentusergrant", grant_id)
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)
    assert created.event == "create"
    assert created.changes["user"] == [None, str(grantee.pk)]
    assert created.changes["content_object"] == [None, str(agent.pk)]
    assert revoked.event == "delete"
    assert revoked.changes["user"] == [str(grantee.pk), None]


# --- API keys ---------------------------------------------------------------------------


def test_api_key_creation_masks_the_hash_and_never_contains_the_key(owner, organization):
    body = {"name": "deploy bot", "scopes": ["agents:read"]}

    issued = call("post", owner.user, f"{ORG}/api-keys/", "key-create", body).json()

    raw_key = issued["key"]
    secret = raw_key.split(".", 1)[1]
    stored_hash = ApiKey.objects.get(pk=issued["id"]).hashed_key
    entry = only(recorded_by("key-create"))
    assert (entry.event, entry.resource_type, entry.object_pk) == (
        "create",
        "apikeys.apikey",
        issued["id"],
    )
    assert entry.changes["hashed_key"] == ["None", MASK]
    assert entry.changes["scopes"] == [None, ["agents:read"]]
    text = as_text(entry)
    assert secret not in text
    assert raw_key not in text
    assert stored_hash not in text
    assert stored_hash.split("$")[-1] not in text
    assert_made_by(entry, user=owner.user, organization=organization, request_id="key-create")


def test_api_key_revocation_and_rotation_are_recorded(owner, organization):
    key, _raw = issue_key(owner, ["agents:read"])
    other, _raw = issue_key(owner, ["agents:read"], name="to revoke")
    keys = f"{ORG}/api-keys/"

    rotated = call("post", owner.user, f"{keys}{key.pk}/rotate/", "key-rotate", {}).json()
    call("post", owner.user, f"{keys}{other.pk}/revoke/", "key-revoke")

    replacement_created, old_updated = recorded_by("key-rotate")
    assert (replacement_created.event, replacement_created.object_pk) == ("create", rotated["id"])
    assert replacement_created.changes["hashed_key"] == ["None", MASK]
    assert rotated["key"].split(".", 1)[1] not in as_text(replacement_created)
    assert (old_updated.event, old_updated.object_pk) == ("update", str(key.pk))
    assert old_updated.changes["replaced_by"] == [None, rotated["id"]]
    assert old_updated.changes["grace_expires_at"][0] is None
    revoked = only(recorded_by("key-revoke"))
    assert (revoked.event, revoked.object_pk) == ("update", str(other.pk))
    assert revoked.changes["revoked"] == [False, True]
    assert revoked.changes["revoked_at"][0] is None
    for entry in (replacement_created, old_updated, revoked):
        assert entry.resource_type == "apikeys.apikey"
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)


# --- many-to-many: an agent's tools ------------------------------------------------------


def test_tools_added_to_and_removed_from_an_agent_are_recorded_by_name(owner, organization):
    search = ToolFactory(organization=organization, name="search")
    mailer = ToolFactory(organization=organization, name="mailer")
    agent = AgentFactory(organization=organization, name="Bot")
    url = f"{ORG}/agents/{agent.pk}/"

    call("patch", owner.user, url, "tools-add", {"tools": [str(search.pk), str(mailer.pk)]})
    call("patch", owner.user, url, "tools-remove", {"tools": [str(mailer.pk)]})

    added = only(recorded_by("tools-add"))
    removed = only(recorded_by("tools-remove"))
    assert (added.event, added.resource_type, added.object_pk) == (
        "update",
        "agents.agent",
        str(agent.pk),
    )
    assert added.changes == {"tools": {"type": "m2m", "added": ["mailer", "search"], "removed": []}}
    assert removed.changes == {"tools": {"type": "m2m", "added": [], "removed": ["search"]}}
    for entry in (added, removed):
        assert_made_by(entry, user=owner.user, organization=organization, request_id=entry.cid)


def test_an_agent_created_with_tools_is_one_entry_naming_them(owner, organization):
    search = ToolFactory(organization=organization, name="search")
    body = {"name": "Bot", "model_name": "m", "tools": [str(search.pk)]}

    agent_id = call("post", owner.user, f"{ORG}/agents/", "create-with-tools", body).json()["id"]

    entry = only(recorded_by("create-with-tools"))
    assert (entry.event, entry.object_pk) == ("create", agent_id)
    assert entry.changes["name"] == [None, "Bot"]
    assert entry.changes["tools"] == {"type": "m2m", "added": ["search"], "removed": []}


def test_clearing_an_agents_tools_names_only_the_tools_it_had(organization, other_organization):
    mine = [ToolFactory(organization=organization, name=name) for name in ("search", "mailer")]
    agent = AgentFactory(organization=organization, name="Bot", tools=mine)
    AgentFactory(
        organization=organization,
        tools=[ToolFactory(organization=organization, name="acme_other_tool")],
    )
    AgentFactory(
        organization=other_organization,
        tools=[ToolFactory(organization=other_organization, name="globex_secret_tool")],
    )
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    agent.tools.clear()

    entry = only(recorded(id__gt=before))
    assert (entry.resource_type, entry.object_pk) == ("agents.agent", str(agent.pk))
    assert entry.organization_id == organization.pk
    assert entry.changes == {"tools": {"type": "m2m", "added": [], "removed": ["mailer", "search"]}}
    assert "globex_secret_tool" not in as_text(entry)
    assert "acme_other_tool" not in as_text(entry)


def test_clearing_a_tools_agents_is_recorded_on_each_agent(organization, other_organization):
    tool = ToolFactory(organization=organization, name="search")
    first = AgentFactory(organization=organization, tools=[tool])
    second = AgentFactory(organization=organization, tools=[tool])
    AgentFactory(
        organization=other_organization,
        tools=[ToolFactory(organization=other_organization, name="globex_secret_tool")],
    )
    before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()

    tool.agents.clear()

    entries = recorded(id__gt=before)
    assert sorted(entry.object_pk for entry in entries) == sorted([str(first.pk), str(second.pk)])
    for entry in entries:
        assert entry.resource_type == "agents.agent"
        assert entry.organization_id == organization.pk
        assert entry.changes == {"tools": {"type": "m2m", "added": [], "removed": ["search"]}}


# --- the client's IP ---------------------------------------------------------------------


def test_behind_a_trusted_proxy_the_ip_is_the_rightmost_untrusted_hop(owner, settings):
    settings.TRUSTED_PROXIES = ["10.0.0.5"]
    client = api_caller(
        owner.user, request_id="proxied", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 9.9.9.9"
    )

    response = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}, format="json")

    assert response.status_code == 201
    assert only(recorded_by("proxied")).remote_addr == "9.9.9.9"


def test_without_a_trusted_proxy_the_ip_is_the_connection_address(owner, settings):
    settings.TRUSTED_PROXIES = []
    client = api_caller(
        owner.user, request_id="direct", ip="10.0.0.5", HTTP_X_FORWARDED_FOR="1.1.1.1, 9.9.9.9"
    )

    response = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}, format="json")

    assert response.status_code == 201
    assert only(recorded_by("direct")).remote_addr == "10.0.0.5"


def test_an_ipv6_client_address_is_stored_in_its_short_form(owner):
    client = api_caller(owner.user, request_id="ipv6", ip="2001:DB8:0:0:0:0:0:0001")

    response = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}, format="json")

    assert response.status_code == 201
    assert only(recorded_by("ipv6")).remote_addr == "2001:db8::1"


def test_a_long_user_agent_is_cut_to_512_characters(owner):
    client = api_caller(owner.user, request_id="long-ua", user_agent="x" * 600)

    response = client.post(f"{ORG}/agents/", {"name": "Bot", "model_name": "m"}, format="json")

    assert response.status_code == 201
    assert only(recorded_by("long-ua")).user_agent == "x" * 512


# --- cost: one insert per changed object ---------------------------------------------------


def audit_inserts(queries) -> int:
    return sum(1 for query in queries.captured_queries if AUDIT_INSERT.search(query["sql"]))


def test_updating_one_agent_adds_exactly_one_audit_insert(owner, organization):
    """Its fields and its tools changed in one request: one object, one insert."""
    old_tool = ToolFactory(organization=organization, name="search")
    new_tool = ToolFactory(organization=organization, name="mailer")
    agent = AgentFactory(organization=organization, name="Bot", tools=[old_tool])
    client = api_caller(owner.user, request_id="one-insert")
    body = {"description": "Answers", "temperature": 1.1, "tools": [str(new_tool.pk)]}

    with CaptureQueriesContext(connection) as queries:
        response = client.patch(f"{ORG}/agents/{agent.pk}/", body)

    assert response.status_code == 200
    assert audit_inserts(queries) == 1
    assert only(recorded_by("one-insert")).changes == {
        "description": ["", "Answers"],
        "temperature": ["0.70", "1.10"],
        "tools": {"type": "m2m", "added": ["mailer"], "removed": ["search"]},
    }


def test_an_update_that_changes_nothing_adds_no_audit_insert(owner, organization):
    tool = ToolFactory(organization=organization, name="search")
    agent = AgentFactory(organization=organization, name="Bot", tools=[tool])
    client = api_caller(owner.user, request_id="no-insert")

    with CaptureQueriesContext(connection) as queries:
        response = client.patch(
            f"{ORG}/agents/{agent.pk}/",
            {"name": "Bot", "temperature": 0.7, "tools": [str(tool.pk)]},
        )

    assert response.status_code == 200
    assert audit_inserts(queries) == 0
    assert recorded_by("no-insert") == []


# --- Celery: changes made by tasks name the task and the request that enqueued it ----------


def upload_document(client, knowledge_base):
    response = client.post(
        f"{ORG}/knowledge-bases/{knowledge_base.pk}/documents/",
        {"file": SimpleUploadedFile("notes.txt", b"Some text to ingest.", "text/plain")},
        format="multipart",
    )
    assert response.status_code == 201, response.content
    return response.json()["id"]


def ingestion_entries(document_id) -> list[AuditEntry]:
    return recorded(object_pk=document_id, event="update")


@pytest.mark.django_db(transaction=True)
def test_an_eager_task_names_itself_and_the_request_that_enqueued_it(
    organization, owner, media_root
):
    """Eager (inline) tasks run when the request's transaction commits, inside the request."""
    knowledge_base = KnowledgeBaseFactory(organization=organization)
    workflow = WorkflowFactory(organization=organization)
    client = api_caller(owner.user, request_id="eager-tasks")

    document_id = upload_document(client, knowledge_base)
    run_id = client.post(f"{ORG}/workflows/{workflow.pk}/runs/", {"input": {}}).json()["id"]

    ingestion = ingestion_entries(document_id)
    assert [entry.changes["status"] for entry in ingestion] == [
        ["pending", "processing"],
        ["processing", "ready"],
    ]
    run_statuses = [
        entry.changes["status"]
        for entry in recorded(object_pk=run_id, event="update")
        if "status" in entry.changes
    ]
    assert run_statuses == [["queued", "running"], ["running", "succeeded"]]
    assert WorkflowRun.objects.get(pk=run_id).status == WorkflowRun.Status.SUCCEEDED
    for entry in ingestion:
        assert_made_by(
            entry,
            user=owner.user,
            organization=organization,
            request_id="eager-tasks",
            task=ingest_document.name,
        )
    for entry in recorded(object_pk=run_id, event="update"):
        assert_made_by(
            entry,
            user=owner.user,
            organization=organization,
            request_id="eager-tasks",
            task=execute_workflow_run.name,
        )


def test_a_task_on_a_real_worker_carries_the_enqueuing_request_and_key(
    celery_worker, organization, owner, media_root, wait_for
):
    """Through the broker (Redis when REDIS_URL is set) to a worker thread."""
    key, raw_key = issue_key(owner, ["knowledge_bases:manage"])
    knowledge_base = KnowledgeBaseFactory(organization=organization)
    client = api_caller(raw_key=raw_key, request_id="worker-task")

    document_id = upload_document(client, knowledge_base)

    wait_for(
        lambda: Document.objects.filter(pk=document_id, status=Document.Status.READY).exists(),
        message="the worker to ingest the document",
    )
    wait_for(lambda: len(ingestion_entries(document_id)) == 2, message="the task's entries")
    ingestion = ingestion_entries(document_id)
    assert [entry.changes["status"] for entry in ingestion] == [
        ["pending", "processing"],
        ["processing", "ready"],
    ]
    for entry in ingestion:
        assert_made_by(
            entry,
            user=owner.user,
            organization=organization,
            request_id="worker-task",
            api_key=key,
            task=ingest_document.name,
        )
