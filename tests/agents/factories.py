import factory

from apps.agents.models import Agent
from tests.factories import OrganizationFactory


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent
        skip_postgeneration_save = True

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Agent {n}")
    model_name = "gpt-4o-mini"

    @factory.post_generation
    def tools(self, create, extracted, **kwargs):
        if create and extracted:
            self.tools.set(extracted)

    @factory.post_generation
    def knowledge_bases(self, create, extracted, **kwargs):
        if create and extracted:
            self.knowledge_bases.set(extracted)
