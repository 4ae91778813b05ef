"""The URLs of the conversations API, for the tests."""


def conversations_url(slug="acme"):
    return f"/api/v1/orgs/{slug}/conversations/"


def conversation_url(conversation, slug="acme"):
    return f"{conversations_url(slug)}{conversation.pk}/"


def messages_url(conversation, slug="acme"):
    return f"{conversation_url(conversation, slug)}messages/"


def message_url(conversation, message, slug="acme"):
    return f"{messages_url(conversation, slug)}{message.pk}/"
