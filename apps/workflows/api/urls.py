from rest_framework.routers import SimpleRouter

from .views import WorkflowRunViewSet, WorkflowViewSet

router = SimpleRouter()
router.register("workflows", WorkflowViewSet, basename="workflow")
router.register(
    r"workflows/(?P<workflow_id>[0-9a-fA-F-]{36})/runs",
    WorkflowRunViewSet,
    basename="workflow-run",
)

urlpatterns = router.urls
