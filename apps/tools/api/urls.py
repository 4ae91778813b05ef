from rest_framework.routers import SimpleRouter

from apps.access.api.views import grant_viewset_for
from apps.tools.models import Tool

from .views import ToolViewSet

router = SimpleRouter()
router.register("tools", ToolViewSet, basename="tool")
router.register(
    r"tools/(?P<object_id>[0-9a-fA-F-]{36})/grants",
    grant_viewset_for(Tool, "tools"),
    basename="tool-grant",
)

urlpatterns = router.urls
