from django.conf import settings
from django.db import models

from apps.access import catalog
from apps.organizations.models import OrganizationOwnedModel


class Conversation(OrganizationOwnedModel):
    """A thread of messages between a person and an agent.

    `owner` is the member the conversation belongs to (its creator); it is kept
    apart from `created_by` so ownership can later be handed over without
    rewriting history. `updated_at` moves whenever a message is added, so
    ordering by it lists the most recently active conversations first.
    """

    agent = models.ForeignKey(
        "agents.Agent", on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )

    class Meta(OrganizationOwnedModel.Meta):
        permissions = catalog.model_permissions("conversations")

    def __str__(self):
        return self.title or str(self.id)


class Message(OrganizationOwnedModel):
    """One turn of a conversation: who spoke (`role`), what was said, and its token cost.

    `organization` is always the conversation's; services set it from there.
    """

    class Role(models.TextChoices):
        SYSTEM = "system", "System"
        USER = "user", "User"
        ASSISTANT = "assistant", "Assistant"
        TOOL = "tool", "Tool"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=20, choices=Role.choices)
    content = models.TextField(max_length=200_000)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)

    class Meta(OrganizationOwnedModel.Meta):
        ordering = ["created_at"]
        # A conversation's messages are always read in order, one conversation at a time.
        indexes = [
            models.Index(
                fields=["conversation", "created_at"], name="conversations_msg_conv_created"
            )
        ]

    def __str__(self):
        return f"{self.role}: {self.content[:40]}"
