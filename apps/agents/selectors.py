from django.db.models import Prefetch, QuerySet

from apps.knowledge.models import KnowledgeBase
from apps.organizations.models import Organization
from apps.tools.models import Tool

from .models import Agent


def agent_list(
    *,
    organization: Organization,
    tools: QuerySet[Tool] | None = None,
    knowledge_bases: QuerySet[KnowledgeBase] | None = None,
) -> QuerySet[Agent]:
    """The agents of `organization`, with their tools and knowledge bases loaded in two queries.

    Only the ids and names of the related objects are loaded: tools carry
    credentials, which an agent's representation has no use for. `tools` and
    `knowledge_bases` narrow the related objects shown (to what a caller may read).
    """
    tools = Tool.objects.all() if tools is None else tools
    knowledge_bases = KnowledgeBase.objects.all() if knowledge_bases is None else knowledge_bases
    return Agent.objects.filter(organization=organization).prefetch_related(
        Prefetch("tools", queryset=tools.only("id", "name").order_by("name")),
        Prefetch("knowledge_bases", queryset=knowledge_bases.only("id", "name").order_by("name")),
    )
