from rest_framework.routers import SimpleRouter

from apps.organizations.api.base import UUID_LOOKUP_REGEX

from .views import DocumentViewSet, KnowledgeBaseViewSet

router = SimpleRouter()
router.register("knowledge-bases", KnowledgeBaseViewSet, basename="knowledge-base")
router.register(
    rf"knowledge-bases/(?P<knowledge_base_id>{UUID_LOOKUP_REGEX})/documents",
    DocumentViewSet,
    basename="knowledge-base-document",
)

urlpatterns = router.urls
