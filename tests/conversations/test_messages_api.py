from datetime import timedelta

import pytest
from django.utils import timezone

from apps.conversations.models import Conversation, Message
from apps.organizations.models import BuiltinRole

from .paths import conversation_url, message_url, messages_url

pytestmark = pytest.mark.django_db


def test_editor_adds_a_message_to_a_conversation(client_for, member_of, organization, conversation):
    editor = member_of(organization, BuiltinRole.EDITOR).user
    payload = {
        "role": "assistant",
        "content": "  Sure, here is the refund.\n",
        "prompt_tokens": 120,
        "completion_tokens": 35,
    }
    response = client_for(editor).post(messages_url(conversation), payload)
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["conversation"] == str(conversation.pk)
    assert body["role"] == "assistant"
    # Content is stored exactly as sent, surrounding whitespace included.
    assert body["content"] == "  Sure, here is the refund.\n"
    assert (body["prompt_tokens"], body["completion_tokens"]) == (120, 35)
    message = Message.objects.get(pk=body["id"])
    assert message.organization == organization
    assert message.conversation == conversation
    assert message.created_by == editor


def test_token_counts_default_to_zero(owner_client, conversation):
    response = owner_client.post(messages_url(conversation), {"role": "user", "content": "Hi"})
    assert response.status_code == 201, response.json()
    assert (response.json()["prompt_tokens"], response.json()["completion_tokens"]) == (0, 0)


def test_adding_a_message_bumps_the_conversations_updated_at(owner_client, conversation):
    long_ago = timezone.now() - timedelta(days=3)
    Conversation.objects.filter(pk=conversation.pk).update(updated_at=long_ago)
    response = owner_client.post(messages_url(conversation), {"role": "user", "content": "Hi"})
    assert response.status_code == 201
    conversation.refresh_from_db()
    assert conversation.updated_at > long_ago + timedelta(days=2)
    listed = owner_client.get(conversation_url(conversation)).json()
    assert listed["message_count"] == 1
    assert listed["last_message_at"] == response.json()["created_at"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        (
            {"role": "robot", "content": "Hi"},
            "role",
            '"robot" is not a valid role. Choose from: system, user, assistant, tool.',
        ),
        ({"content": "Hi"}, "role", "This field is required."),
        ({"role": "user"}, "content", "This field is required."),
        ({"role": "user", "content": ""}, "content", "This field may not be blank."),
        ({"role": "user", "content": " \n\t "}, "content", "This field may not be blank."),
        (
            {"role": "user", "content": "x" * 200_001},
            "content",
            "Ensure this field has no more than 200000 characters.",
        ),
        (
            {"role": "user", "content": "Hi", "prompt_tokens": -1},
            "prompt_tokens",
            "Ensure this value is greater than or equal to 0.",
        ),
        (
            {"role": "user", "content": "Hi", "completion_tokens": "many"},
            "completion_tokens",
            "A valid integer is required.",
        ),
        (
            {"role": "user", "content": "Hi", "completion_tokens": 1.5},
            "completion_tokens",
            "A valid integer is required.",
        ),
        (
            {"role": "user", "content": "Hi", "prompt_tokens": 10**12},
            "prompt_tokens",
            "Ensure this value is less than or equal to 2147483647.",
        ),
    ],
)
def test_create_message_rejects_bad_input(owner_client, conversation, payload, field, message):
    Conversation.objects.filter(pk=conversation.pk).update(
        updated_at=timezone.now() - timedelta(days=1)
    )
    conversation.refresh_from_db()
    before = conversation.updated_at

    response = owner_client.post(messages_url(conversation), payload)
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert error["details"][field] == [message]
    assert not Message.objects.exists()
    conversation.refresh_from_db()
    assert conversation.updated_at == before


def test_content_of_exactly_the_limit_is_accepted(owner_client, conversation):
    response = owner_client.post(
        messages_url(conversation), {"role": "tool", "content": "x" * 200_000}
    )
    assert response.status_code == 201, response.json()["error"]["details"]


def test_list_is_oldest_first_and_filters_by_role(
    owner_client, conversation, make_message, make_conversation, agent
):
    now = timezone.now()
    second = make_message(conversation, role=Message.Role.ASSISTANT, content="second")
    first = make_message(conversation, role=Message.Role.USER, content="first")
    third = make_message(conversation, role=Message.Role.USER, content="third")
    for offset, message in enumerate((first, second, third)):
        Message.objects.filter(pk=message.pk).update(created_at=now + timedelta(seconds=offset))
    make_message(make_conversation(agent, title="Elsewhere"), content="not mine")

    def contents(**params):
        response = owner_client.get(messages_url(conversation), params)
        assert response.status_code == 200, response.json()
        return [m["content"] for m in response.json()["results"]]

    assert contents() == ["first", "second", "third"]
    assert contents(ordering="-created_at") == ["third", "second", "first"]
    assert contents(role="user") == ["first", "third"]
    assert contents(role="assistant") == ["second"]


@pytest.mark.parametrize(
    ("params", "field"), [({"role": "robot"}, "role"), ({"ordering": "content"}, "ordering")]
)
def test_bad_message_filters_are_refused(owner_client, conversation, params, field):
    response = owner_client.get(messages_url(conversation), params)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]


def test_viewer_reads_messages_but_cannot_write_them(viewer_client, conversation, make_message):
    message = make_message(conversation, content="original")
    listed = viewer_client.get(messages_url(conversation))
    assert listed.status_code == 200
    assert [m["id"] for m in listed.json()["results"]] == [str(message.pk)]
    assert viewer_client.get(message_url(conversation, message)).status_code == 200

    created = viewer_client.post(messages_url(conversation), {"role": "user", "content": "Hi"})
    assert created.status_code == 403
    assert created.json()["error"]["code"] == "permission_denied"
    assert viewer_client.patch(
        message_url(conversation, message), {"content": "x"}
    ).status_code == (403)
    assert viewer_client.delete(message_url(conversation, message)).status_code == 403
    assert Message.objects.count() == 1
    message.refresh_from_db()
    assert message.content == "original"


def test_retrieve_a_message(viewer_client, conversation, make_message):
    message = make_message(conversation, role=Message.Role.SYSTEM, content="Be kind.")
    response = viewer_client.get(message_url(conversation, message))
    assert response.status_code == 200
    body = response.json()
    assert (body["id"], body["role"], body["content"]) == (str(message.pk), "system", "Be kind.")


def test_editor_corrects_a_message_of_their_conversation(editor_client, conversation, make_message):
    message = make_message(conversation, content="typo")
    # An Editor changes only messages of conversations they own (or manage).
    refused = editor_client.patch(message_url(conversation, message), {"content": "x"})
    assert refused.status_code == 403
    conversation.owner = editor_client.handler._force_user
    conversation.save()
    response = editor_client.patch(
        message_url(conversation, message), {"content": "fixed", "completion_tokens": 7}
    )
    assert response.status_code == 200, response.json()
    message.refresh_from_db()
    assert (message.content, message.completion_tokens, message.role) == ("fixed", 7, "user")


def test_full_update_of_a_message(owner_client, conversation, make_message):
    message = make_message(conversation, prompt_tokens=9)
    response = owner_client.put(
        message_url(conversation, message), {"role": "assistant", "content": "Rewritten"}
    )
    assert response.status_code == 200, response.json()
    message.refresh_from_db()
    assert (message.role, message.content, message.prompt_tokens) == ("assistant", "Rewritten", 0)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"role": "robot"}, "role"),
        ({"content": "   "}, "content"),
        ({"prompt_tokens": -5}, "prompt_tokens"),
    ],
)
def test_update_message_rejects_bad_input(owner_client, conversation, make_message, payload, field):
    message = make_message(conversation, content="keep me")
    response = owner_client.patch(message_url(conversation, message), payload)
    assert response.status_code == 400
    assert field in response.json()["error"]["details"]
    message.refresh_from_db()
    assert (message.role, message.content, message.prompt_tokens) == ("user", "keep me", 0)


def test_delete_a_message_keeps_the_rest(owner_client, conversation, make_message):
    doomed = make_message(conversation, content="oops")
    kept = make_message(conversation, content="keep")
    response = owner_client.delete(message_url(conversation, doomed))
    assert response.status_code == 204
    assert list(Message.objects.values_list("pk", flat=True)) == [kept.pk]
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_another_organizations_conversation_is_404_for_its_messages(
    owner_client, other_conversation, make_message
):
    foreign = make_message(other_conversation, content="Globex only")
    listed = owner_client.get(messages_url(other_conversation))
    assert listed.status_code == 404
    assert listed.json()["error"]["code"] == "not_found"
    created = owner_client.post(messages_url(other_conversation), {"role": "user", "content": "x"})
    assert created.status_code == 404
    for method in ("get", "patch", "put", "delete"):
        response = getattr(owner_client, method)(
            message_url(other_conversation, foreign), {"role": "user", "content": "Hacked"}
        )
        assert response.status_code == 404, method
    assert Message.objects.count() == 1
    foreign.refresh_from_db()
    assert foreign.content == "Globex only"


def test_viewer_gets_404_not_403_for_another_organizations_conversation(
    viewer_client, other_conversation
):
    response = viewer_client.post(
        messages_url(other_conversation), {"role": "user", "content": "x"}
    )
    assert response.status_code == 404
    assert not Message.objects.exists()


def test_message_of_one_conversation_is_404_under_another(
    owner_client, conversation, agent, make_conversation, make_message
):
    message = make_message(conversation, content="belongs to A")
    other = make_conversation(agent, title="B")
    for method in ("get", "patch", "put", "delete"):
        response = getattr(owner_client, method)(
            message_url(other, message), {"role": "user", "content": "moved"}
        )
        assert response.status_code == 404, method
    message.refresh_from_db()
    assert (message.conversation, message.content) == (conversation, "belongs to A")


@pytest.mark.parametrize(
    "conversation_id",
    ["00000000-0000-0000-0000-000000000000", "------------------------------------"],
)
def test_missing_or_malformed_conversation_id_is_404(owner_client, conversation_id):
    response = owner_client.get(f"/api/v1/orgs/acme/conversations/{conversation_id}/messages/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_non_member_and_anonymous_callers_are_refused(
    api_client, client_for, member_of, other_organization, conversation
):
    outsider = client_for(member_of(other_organization, BuiltinRole.OWNER).user)
    assert outsider.get(messages_url(conversation)).status_code == 404
    anonymous = api_client.get(messages_url(conversation))
    assert anonymous.status_code in (401, 403)
    assert anonymous.json()["error"]["code"] == "not_authenticated"


@pytest.mark.parametrize("rows", [5, 50])
def test_message_list_queries_are_constant(
    owner_client, conversation, make_message, rows, django_assert_max_num_queries
):
    for index in range(rows):
        make_message(conversation, content=f"message {index}")
    with django_assert_max_num_queries(5):
        response = owner_client.get(messages_url(conversation), {"page_size": 200})
    assert len(response.json()["results"]) == rows
