from rest_framework.routers import SimpleRouter

from apps.access.api.views import grant_viewset_for
from apps.workflows.models import Workflow

from .views import WorkflowRunViewSet, WorkflowViewSet

router = SimpleRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register(
    r"workflows/(?P<workflow_id>[0-9a-fA-F-]{36})/runs",
    WorkflowRunViewSet,
    basename="workflow-run",
)
router.register(
    r"workflows/(?P<object_id>[0-9a-fA-F-]{36})/grants",
    grant_viewset_for(Workflow, "workflows"),
    basename="workflow-grant",
)

urlpatterns = router.urls
