import pytest

from apps.conversations.models import Conversation, Message

pytestmark = pytest.mark.django_db


def test_admin_lists_conversations_and_messages(admin_client, conversation, make_message):
    make_message(conversation, content="visible in the admin")
    conversations = admin_client.get("/admin/conversations/conversation/")
    assert conversations.status_code == 200
    assert "Refund for order 42" in conversations.content.decode()
    messages = admin_client.get("/admin/conversations/message/", {"role__exact": "user"})
    assert messages.status_code == 200
    assert "visible in the admin" in messages.content.decode()
    search = admin_client.get("/admin/conversations/conversation/", {"q": "refund"})
    assert search.status_code == 200


def test_admin_change_pages_render(admin_client, conversation, make_message):
    message = make_message(conversation)
    assert (
        admin_client.get(f"/admin/conversations/conversation/{conversation.pk}/change/").status_code
        == 200
    )
    assert admin_client.get(f"/admin/conversations/message/{message.pk}/change/").status_code == 200
    assert Conversation.objects.count() == Message.objects.count() == 1
