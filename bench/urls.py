"""The platform's URLs plus a baseline: the same agent list with no permission checks at all.

Only the benchmark server (bench/settings.py) loads this; the baseline never ships in config.urls.
"""

from django.urls import include, path
from rest_framework.generics import ListAPIView

from apps.access.api.permissions import PUBLIC, DeclaredAccess
from apps.agents.api.serializers import AgentSerializer
from apps.agents.selectors import agent_list
from apps.organizations.models import Organization


class UncheckedAgentList(ListAPIView):
    """The agents of an organization, straight from the database: no membership, no permissions."""

    serializer_class = AgentSerializer
    permission_classes = [DeclaredAccess]
    access = {"get": PUBLIC}
    filter_backends = []

    def get_queryset(self):
        organization = Organization.objects.get(slug=self.kwargs["org_slug"])
        return agent_list(organization=organization).order_by("name")


urlpatterns = [
    path("bench/unchecked/orgs/<str:org_slug>/agents/", UncheckedAgentList.as_view()),
    path("", include("config.urls")),
]
