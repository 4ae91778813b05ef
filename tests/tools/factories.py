import factory

from apps.tools.models import Tool
from tests.factories import OrganizationFactory


class ToolFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tool

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"tool_{n}")
    kind = Tool.Kind.FUNCTION
    parameters_schema = factory.LazyFunction(
        lambda: {"type": "object", "properties": {"q": {"type": "string"}}}
    )
