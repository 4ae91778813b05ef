from rest_framework.routers import SimpleRouter

from apps.access.api.views import grant_viewset_for
from apps.knowledge.models import KnowledgeBase
from apps.organizations.api.base import UUID_LOOKUP_REGEX

from .views import DocumentViewSet, KnowledgeBaseViewSet

router = SimpleRouter()
router.register("knowledge-bases", KnowledgeBaseViewSet, basename="knowledge-base")
router.register(
    rf"knowledge-bases/(?P<knowledge_base_id>{UUID_LOOKUP_REGEX})/documents",
    DocumentViewSet,
    basename="knowledge-base-document",
)
router.register(
    r"knowledge-bases/(?P<object_id>[0-9a-fA-F-]{36})/grants",
    grant_viewset_for(KnowledgeBase, "knowledge_bases"),
    basename="knowledge-base-grant",
)

urlpatterns = router.urls
