from django.db.models import Prefetch, QuerySet

from apps.knowledge.models import KnowledgeBase
from apps.organizations.models import Organization
from apps.tools.models import Tool

from .models import Agent


def agent_list(*, organization: Organization) -> QuerySet[Agent]:
    """The agents of `organization`, with their tools and knowledge bases loaded in two queries.

    Only the ids and names of the related objects are loaded: tools carry
    credentials, which an agent's representation has no use for.
    """
    return Agent.objects.filter(organization=organization).prefetch_related(
        Prefetch("tools", queryset=Tool.objects.only("id", "name").order_by("name")),
        Prefetch(
            "knowledge_bases", queryset=KnowledgeBase.objects.only("id", "name").order_by("name")
        ),
    )
