from rest_framework.routers import SimpleRouter

from .views import MembershipViewSet, OrganizationViewSet

router = SimpleRouter()
router.register("orgs", OrganizationViewSet, basename="organization")

organization_router = SimpleRouter()
organization_router.register("members", MembershipViewSet, basename="membership")

urlpatterns = router.urls
# Included by config.urls under orgs/<org_slug>/.
organization_urlpatterns = organization_router.urls
