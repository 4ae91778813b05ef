from rest_framework.routers import SimpleRouter

from apps.access.api.views import grant_viewset_for
from apps.agents.models import Agent

from .views import AgentViewSet

router = SimpleRouter()
router.register("agents", AgentViewSet, basename="agent")
router.register(
    r"agents/(?P<object_id>[0-9a-fA-F-]{36})/grants",
    grant_viewset_for(Agent, "agents"),
    basename="agent-grant",
)

urlpatterns = router.urls
