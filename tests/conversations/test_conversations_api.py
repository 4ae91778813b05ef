from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation, Message
from apps.organizations.models import BuiltinRole

from .paths import conversation_url, conversations_url

pytestmark = pytest.mark.django_db


def test_owner_starts_a_conversation_and_becomes_its_owner(owner_client, owner, agent):
    response = owner_client.post(conversations_url(), {"agent": str(agent.pk), "title": "Hi"})
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["agent"] == str(agent.pk)
    assert body["title"] == "Hi"
    assert body["owner"] == {
        "id": str(owner.user.pk),
        "email": owner.user.email,
        "display_name": owner.user.display_name,
    }
    assert body["message_count"] == 0
    assert body["last_message_at"] is None
    created = Conversation.objects.get(pk=body["id"])
    assert created.organization == agent.organization
    assert created.owner == owner.user
    assert created.created_by == owner.user


def test_title_is_optional(owner_client, agent):
    response = owner_client.post(conversations_url(), {"agent": str(agent.pk)})
    assert response.status_code == 201, response.json()
    assert response.json()["title"] == ""


def test_owner_cannot_be_set_by_the_client(client_for, member_of, organization, agent):
    editor = member_of(organization, BuiltinRole.EDITOR).user
    someone_else = member_of(organization, BuiltinRole.VIEWER).user
    response = client_for(editor).post(
        conversations_url(), {"agent": str(agent.pk), "owner": str(someone_else.pk)}
    )
    assert response.status_code == 201, response.json()
    assert response.json()["owner"]["id"] == str(editor.pk)
    assert Conversation.objects.get().owner == editor


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "agent", "This field is required."),
        ({"agent": "not-a-uuid"}, "agent", "Must be a valid UUID."),
        (
            {"agent": "00000000-0000-0000-0000-000000000000"},
            "agent",
            "exists in this organization",
        ),
        ({"agent": "AGENT", "title": "x" * 201}, "title", "no more than 200 characters"),
    ],
)
def test_create_conversation_rejects_bad_input(owner_client, agent, payload, field, message):
    if payload.get("agent") == "AGENT":
        payload = {**payload, "agent": str(agent.pk)}
    response = owner_client.post(conversations_url(), payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert message in " ".join(error["details"][field])
    assert not Conversation.objects.exists()


def test_agent_of_another_organization_is_refused(owner_client, other_agent):
    response = owner_client.post(conversations_url(), {"agent": str(other_agent.pk)})
    assert response.status_code == 400
    details = response.json()["error"]["details"]
    assert details["agent"] == [
        f'No object with id "{other_agent.pk}" exists in this organization.'
    ]
    assert not Conversation.objects.exists()


def test_inactive_agent_is_refused_on_create(owner_client, make_agent, organization):
    sleeping = make_agent(organization, name="Retired bot", is_active=False)
    response = owner_client.post(conversations_url(), {"agent": str(sleeping.pk)})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["agent"] == [
        'Agent "Retired bot" is inactive; activate it or choose another agent.'
    ]
    assert not Conversation.objects.exists()


def test_list_shows_only_this_organizations_conversations_with_counts(
    owner_client, conversation, other_conversation, make_message
):
    make_message(conversation, content="first")
    last = make_message(conversation, role=Message.Role.ASSISTANT, content="second")
    make_message(other_conversation)

    response = owner_client.get(conversations_url())
    assert response.status_code == 200
    results = response.json()["results"]
    assert [c["id"] for c in results] == [str(conversation.pk)]
    assert results[0]["message_count"] == 2
    assert results[0]["last_message_at"] == last.created_at.isoformat().replace("+00:00", "Z")
    assert results[0]["title"] == "Refund for order 42"


def test_list_filters_by_agent_owner_title_and_creation_time(
    owner_client, owner, organization, member_of, agent, make_agent, make_conversation
):
    second_agent = make_agent(organization, name="Sales bot")
    colleague = member_of(organization, BuiltinRole.EDITOR).user
    refund = make_conversation(agent, title="Refund please")
    sales = make_conversation(second_agent, title="Pricing question")
    mine_later = make_conversation(agent, title="Another REFUND", owner_user=colleague)
    now = timezone.now()
    Conversation.objects.filter(pk=refund.pk).update(created_at=now - timedelta(days=10))
    Conversation.objects.filter(pk=sales.pk).update(created_at=now - timedelta(days=5))
    Conversation.objects.filter(pk=mine_later.pk).update(created_at=now - timedelta(days=1))

    def ids(**params):
        response = owner_client.get(conversations_url(), params)
        assert response.status_code == 200, response.json()
        return {c["id"] for c in response.json()["results"]}

    assert ids(agent=str(second_agent.pk)) == {str(sales.pk)}
    assert ids(owner=str(colleague.pk)) == {str(mine_later.pk)}
    assert ids(title="refund") == {str(refund.pk), str(mine_later.pk)}
    assert ids(created_after=(now - timedelta(days=6)).isoformat()) == {
        str(sales.pk),
        str(mine_later.pk),
    }
    assert ids(created_before=(now - timedelta(days=6)).isoformat()) == {str(refund.pk)}
    assert ids(
        created_after=(now - timedelta(days=7)).isoformat(),
        created_before=(now - timedelta(days=2)).isoformat(),
    ) == {str(sales.pk)}


def test_list_orders_by_title_and_defaults_to_recent_activity(
    owner_client, agent, make_conversation, make_message
):
    a = make_conversation(agent, title="Alpha")
    b = make_conversation(agent, title="Bravo")
    c = make_conversation(agent, title="Charlie")
    past = timezone.now() - timedelta(hours=1)
    for offset, conv in enumerate((a, b, c)):
        Conversation.objects.filter(pk=conv.pk).update(updated_at=past + timedelta(minutes=offset))

    def titles(**params):
        return [c["title"] for c in owner_client.get(conversations_url(), params).json()["results"]]

    assert titles() == ["Charlie", "Bravo", "Alpha"]
    assert titles(ordering="title") == ["Alpha", "Bravo", "Charlie"]
    assert titles(ordering="-title") == ["Charlie", "Bravo", "Alpha"]

    # A new message makes its conversation the most recently active.
    owner_client.post(f"{conversation_url(a)}messages/", {"role": "user", "content": "bump"})
    assert titles() == ["Alpha", "Charlie", "Bravo"]
    assert titles(ordering="updated_at") == ["Bravo", "Charlie", "Alpha"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"agent": "nope"}, "agent"),
        ({"owner": "12"}, "owner"),
        ({"created_after": "yesterday"}, "created_after"),
        ({"ordering": "owner__password"}, "ordering"),
    ],
)
def test_bad_filters_and_orderings_are_refused(owner_client, conversation, params, field):
    response = owner_client.get(conversations_url(), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_member_retrieves_a_conversation(viewer_client, conversation, make_message):
    make_message(conversation)
    response = viewer_client.get(conversation_url(conversation))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(conversation.pk)
    assert body["message_count"] == 1


def test_editor_renames_their_conversation_and_switches_its_agent(
    editor_client, conversation, make_agent, organization
):
    other_agent = make_agent(organization, name="Escalations")
    # An Editor changes only conversations they own (or manage).
    refused = editor_client.patch(conversation_url(conversation), {"title": "Not mine"})
    assert refused.status_code == 403
    conversation.owner = editor_client.handler._force_user
    conversation.save()
    response = editor_client.patch(
        conversation_url(conversation), {"title": "Escalated", "agent": str(other_agent.pk)}
    )
    assert response.status_code == 200, response.json()
    body = response.json()
    assert body["title"] == "Escalated"
    assert body["agent"] == str(other_agent.pk)
    assert body["message_count"] == 0
    conversation.refresh_from_db()
    assert (conversation.title, conversation.agent) == ("Escalated", other_agent)


def test_full_update_replaces_title_and_agent(owner_client, conversation, agent):
    response = owner_client.put(
        conversation_url(conversation), {"agent": str(agent.pk), "title": "Renamed"}
    )
    assert response.status_code == 200, response.json()
    conversation.refresh_from_db()
    assert conversation.title == "Renamed"


def test_update_refuses_an_agent_of_another_organization(owner_client, conversation, other_agent):
    response = owner_client.patch(
        conversation_url(conversation), {"agent": str(other_agent.pk), "title": "Moved"}
    )
    assert response.status_code == 400
    assert "agent" in response.json()["error"]["details"]
    conversation.refresh_from_db()
    assert conversation.title == "Refund for order 42"
    assert conversation.agent != other_agent


def test_update_refuses_switching_to_an_inactive_agent_but_keeps_the_current_one(
    owner_client, conversation, agent, make_agent, organization
):
    retired = make_agent(organization, name="Retired", is_active=False)
    refused = owner_client.patch(
        conversation_url(conversation), {"agent": str(retired.pk), "title": "Nope"}
    )
    assert refused.status_code == 400
    assert "inactive" in refused.json()["error"]["details"]["agent"][0]
    conversation.refresh_from_db()
    assert (conversation.agent, conversation.title) == (agent, "Refund for order 42")

    # An agent switched off after the conversation started does not lock the conversation.
    agent.is_active = False
    agent.save()
    kept = owner_client.patch(
        conversation_url(conversation), {"agent": str(agent.pk), "title": "Still here"}
    )
    assert kept.status_code == 200, kept.json()


def test_title_too_long_on_update_is_refused(owner_client, conversation):
    response = owner_client.patch(conversation_url(conversation), {"title": "x" * 201})
    assert response.status_code == 400
    assert "title" in response.json()["error"]["details"]
    conversation.refresh_from_db()
    assert conversation.title == "Refund for order 42"


def test_delete_removes_the_conversation_and_its_messages(owner_client, conversation, make_message):
    make_message(conversation)
    response = owner_client.delete(conversation_url(conversation))
    assert response.status_code == 204
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.exists()


@pytest.mark.parametrize(
    ("role", "expected"),
    [("owner", 201), ("admin", 201), ("editor", 201), ("viewer", 403)],
)
def test_create_needs_the_create_permission(
    client_for, member_of, organization, agent, role, expected
):
    client = client_for(member_of(organization, role).user)
    response = client.post(conversations_url(), {"agent": str(agent.pk)})
    assert response.status_code == expected
    assert Conversation.objects.exists() is (expected == 201)


def test_viewer_reads_but_cannot_change_or_delete(viewer_client, conversation):
    assert viewer_client.get(conversations_url()).status_code == 200
    assert viewer_client.get(conversation_url(conversation)).status_code == 200
    patch = viewer_client.patch(conversation_url(conversation), {"title": "Hacked"})
    assert patch.status_code == 403
    assert patch.json()["error"]["code"] == "permission_denied"
    assert viewer_client.delete(conversation_url(conversation)).status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Refund for order 42"


def test_anonymous_caller_is_refused(api_client, conversation):
    response = api_client.get(conversations_url())
    assert response.status_code in (401, 403)
    assert response.json()["error"]["code"] == "not_authenticated"


def test_another_organizations_conversation_is_404(owner_client, other_conversation):
    for method in ("get", "patch", "put", "delete"):
        response = getattr(owner_client, method)(
            conversation_url(other_conversation), {"title": "Hacked"}
        )
        assert response.status_code == 404, method
        assert response.json()["error"]["code"] == "not_found"
    other_conversation.refresh_from_db()
    assert other_conversation.title == "Globex secrets"


def test_non_member_gets_404_for_the_organizations_conversations(
    client_for, member_of, other_organization, conversation
):
    outsider = client_for(member_of(other_organization, BuiltinRole.OWNER).user)
    assert outsider.get(conversations_url()).status_code == 404
    assert outsider.get(conversation_url(conversation)).status_code == 404


@pytest.mark.parametrize("rows", [5, 50])
def test_conversation_list_queries_are_constant(
    owner_client, agent, make_conversation, make_message, rows, django_assert_max_num_queries
):
    for index in range(rows):
        conv = make_conversation(agent, title=f"Conversation {index}")
        make_message(conv)
        make_message(conv, role=Message.Role.ASSISTANT)
    with django_assert_max_num_queries(4):
        response = owner_client.get(conversations_url(), {"page_size": 200})
    results = response.json()["results"]
    assert len(results) == rows
    assert {c["message_count"] for c in results} == {2}
