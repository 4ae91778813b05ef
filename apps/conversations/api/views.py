from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view

from apps.access.api.permissions import Requires
from apps.access.catalog import permission_name as perm
from apps.conversations import selectors, services
from apps.conversations.models import Conversation, Message
from apps.organizations.api.base import OrganizationContentViewSet, crud_access

from .filters import ConversationFilter, MessageFilter
from .serializers import ConversationSerializer, MessageSerializer


def owner_or_manager(access, conversation) -> bool:
    """A conversation is changed or deleted by its owner, or by someone who manages them."""
    return conversation.owner_id == access.user.pk or access.has(perm("conversations", "manage"))


def message_owner_or_manager(access, message) -> bool:
    """A message is changed or deleted by its conversation's owner, or by a manager of them."""
    return owner_or_manager(access, message.conversation)


@extend_schema_view(
    list=extend_schema(summary="List conversations"),
    create=extend_schema(summary="Start a conversation with an agent (I become its owner)"),
    retrieve=extend_schema(summary="Read a conversation"),
    update=extend_schema(summary="Update a conversation"),
    partial_update=extend_schema(summary="Update a conversation partly"),
    destroy=extend_schema(summary="Delete a conversation and its messages"),
)
@extend_schema(tags=["conversations"])
class ConversationViewSet(OrganizationContentViewSet):
    """Conversations between the organization's members and its agents.

    Each carries its owner, `message_count` and `last_message_at`; the list is
    ordered by most recent activity (`-updated_at`) unless `?ordering=` says otherwise.
    """

    queryset = Conversation.objects.none()
    serializer_class = ConversationSerializer
    filterset_class = ConversationFilter
    ordering_fields = ("created_at", "updated_at", "title")
    ordering = ("-updated_at", "-created_at")
    access = crud_access(
        "conversations",
        update=Requires(perm("conversations", "update"), policy=owner_or_manager),
        partial_update=Requires(perm("conversations", "update"), policy=owner_or_manager),
        destroy=Requires(perm("conversations", "delete"), policy=owner_or_manager),
    )

    def get_organization_queryset(self):
        return selectors.conversation_list(organization=self.organization)

    def perform_create(self, serializer):
        conversation = services.conversation_create(
            organization=self.organization,
            agent=serializer.validated_data["agent"],
            title=serializer.validated_data.get("title", ""),
            created_by=self.request.user,
        )
        serializer.instance = self.reload(conversation)

    def perform_update(self, serializer):
        conversation = services.conversation_update(
            conversation=serializer.instance,
            title=serializer.validated_data.get("title"),
            agent=serializer.validated_data.get("agent"),
        )
        serializer.instance = self.reload(conversation)

    def perform_destroy(self, instance):
        services.conversation_delete(conversation=instance)


CONVERSATION_ID_PARAMETER = OpenApiParameter(
    "conversation_id",
    OpenApiTypes.UUID,
    OpenApiParameter.PATH,
    description="Id of the conversation the messages belong to.",
)


@extend_schema_view(
    list=extend_schema(summary="List a conversation's messages (oldest first)"),
    create=extend_schema(summary="Add a message to a conversation"),
    retrieve=extend_schema(summary="Read a message"),
    update=extend_schema(summary="Update a message"),
    partial_update=extend_schema(summary="Update a message partly"),
    destroy=extend_schema(summary="Delete a message"),
)
@extend_schema(tags=["conversations"], parameters=[CONVERSATION_ID_PARAMETER])
class MessageViewSet(OrganizationContentViewSet):
    """The messages of one conversation, nested under it in the URL.

    Messages have no permissions of their own: reading them needs
    `conversations:read`, writing them the matching `conversations:*` action.
    """

    queryset = Message.objects.none()
    serializer_class = MessageSerializer
    filterset_class = MessageFilter
    ordering_fields = ("created_at",)
    ordering = ("created_at",)
    access = crud_access(
        "conversations",
        update=Requires(perm("conversations", "update"), policy=message_owner_or_manager),
        partial_update=Requires(perm("conversations", "update"), policy=message_owner_or_manager),
        destroy=Requires(perm("conversations", "delete"), policy=message_owner_or_manager),
    )

    parent_model = Conversation
    parent_url_kwarg = "conversation_id"

    @property
    def conversation(self) -> Conversation:
        """The conversation in the URL, among the organization's (else 404)."""
        return self.parent

    def get_organization_queryset(self):
        return selectors.message_list(conversation=self.conversation)

    def perform_create(self, serializer):
        serializer.instance = services.message_create(
            conversation=self.conversation,
            created_by=self.request.user,
            **serializer.validated_data,
        )

    def perform_update(self, serializer):
        serializer.instance = services.message_update(
            message=serializer.instance, **serializer.validated_data
        )

    def perform_destroy(self, instance):
        services.message_delete(message=instance)
