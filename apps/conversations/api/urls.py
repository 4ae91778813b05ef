from rest_framework.routers import SimpleRouter

from .views import ConversationViewSet, MessageViewSet

router = SimpleRouter()
router.register("conversations", ConversationViewSet, basename="conversation")
# Messages live under their conversation; the view resolves it within the caller's organization.
router.register(
    r"conversations/(?P<conversation_id>[0-9a-fA-F-]{36})/messages",
    MessageViewSet,
    basename="conversation-message",
)

urlpatterns = router.urls
