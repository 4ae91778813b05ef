from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApiKeyPolicyViewSet, ApiKeyViewSet

router = SimpleRouter()
router.register("api-keys", ApiKeyViewSet, basename="api-key")

api_key_policy = ApiKeyPolicyViewSet.as_view(
    {"get": "retrieve", "put": "update", "patch": "partial_update"}, detail=True
)

urlpatterns = [
    path("api-key-policy/", api_key_policy, name="api-key-policy"),
    *router.urls,
]
