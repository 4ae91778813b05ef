from drf_spectacular.utils import extend_schema, extend_schema_view

from apps.access import policy
from apps.agents import selectors, services
from apps.agents.models import Agent
from apps.knowledge.models import KnowledgeBase
from apps.organizations.api.base import OrganizationContentViewSet, crud_access
from apps.tools.models import Tool

from .filters import AgentFilter
from .serializers import AgentSerializer


@extend_schema_view(
    list=extend_schema(summary="List the agents of an organization"),
    create=extend_schema(summary="Create an agent"),
    retrieve=extend_schema(summary="Read an agent"),
    update=extend_schema(summary="Update an agent"),
    partial_update=extend_schema(summary="Update an agent partly"),
    destroy=extend_schema(summary="Delete an agent and its conversations"),
)
@extend_schema(tags=["agents"])
class AgentViewSet(OrganizationContentViewSet):
    """Agents: a model, its prompt and sampling settings, and the tools and knowledge it uses."""

    queryset = Agent.objects.all()
    serializer_class = AgentSerializer
    filterset_class = AgentFilter
    ordering_fields = ("name", "created_at", "updated_at")
    ordering = ("name",)
    access = crud_access("agents")

    def get_organization_queryset(self):
        access = self.member_access
        # An agent names only the tools and knowledge bases the caller may read.
        return selectors.agent_list(
            organization=self.organization,
            tools=policy.visible(Tool.objects.all(), access, "tools"),
            knowledge_bases=policy.visible(KnowledgeBase.objects.all(), access, "knowledge_bases"),
        )

    def perform_create(self, serializer):
        agent = services.agent_create(
            organization=self.organization,
            created_by=self.request.user,
            **serializer.validated_data,
        )
        # Read back through the list's query: relations in the order the list shows them.
        serializer.instance = self.reload(agent)

    def perform_update(self, serializer):
        agent = services.agent_update(
            agent=serializer.instance,
            acting_user=self.request.user,
            **serializer.validated_data,
        )
        serializer.instance = self.reload(agent)

    def perform_destroy(self, instance):
        services.agent_delete(agent=instance, acting_user=self.request.user)
