from drf_spectacular.utils import extend_schema
from rest_framework import generics

from apps.access.api.permissions import AUTHENTICATED, DeclaredAccess
from apps.accounts.services import user_update_profile

from .serializers import MeSerializer


@extend_schema(tags=["accounts"])
class MeView(generics.RetrieveUpdateAPIView):
    """The signed-in user's profile."""

    serializer_class = MeSerializer
    permission_classes = [DeclaredAccess]
    access = {"get": AUTHENTICATED, "put": AUTHENTICATED, "patch": AUTHENTICATED}

    def get_object(self):
        return self.request.user

    def perform_update(self, serializer):
        serializer.instance = user_update_profile(
            user=self.request.user, display_name=serializer.validated_data.get("display_name")
        )
