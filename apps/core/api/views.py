from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.response import Response
from rest_framework.reverse import reverse
from rest_framework.views import APIView

from apps.access.api.permissions import PUBLIC, DeclaredAccess


@extend_schema(exclude=True)
class ApiRootView(APIView):
    """The entry point of version 1 of the API."""

    permission_classes = [DeclaredAccess]
    access = {"get": PUBLIC}

    def get(self, request):
        return Response(
            {
                "organizations": reverse("api:organization-list", request=request),
                "me": reverse("api:me", request=request),
                "schema": reverse("schema", request=request),
                "docs": reverse("swagger-ui", request=request),
            }
        )


class SchemaView(SpectacularAPIView):
    """The OpenAPI 3 document; public, as the API's contract."""

    permission_classes = [DeclaredAccess]
    access = {"get": PUBLIC}


class SwaggerView(SpectacularSwaggerView):
    permission_classes = [DeclaredAccess]
    access = {"get": PUBLIC}
