from rest_framework.routers import SimpleRouter

from .views import AuditEntryViewSet

router = SimpleRouter()
router.register("audit-logs", AuditEntryViewSet, basename="audit-log")

urlpatterns = router.urls
