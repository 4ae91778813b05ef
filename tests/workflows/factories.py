import factory

from apps.workflows.models import Workflow, WorkflowRun
from tests.factories import OrganizationFactory


def step(name, kind="transform", config=None, depends_on=()):
    """One step of a definition; a transform of {"step": name} unless told otherwise."""
    if config is None:
        config = {"template": {"step": name}} if kind == "transform" else {}
    return {"name": name, "kind": kind, "config": config, "depends_on": list(depends_on)}


def definition(*steps):
    return {"steps": list(steps)}


class WorkflowFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Workflow

    organization = factory.SubFactory(OrganizationFactory)
    name = factory.Sequence(lambda n: f"Workflow {n}")
    definition = factory.LazyFunction(lambda: definition(step("only")))


class WorkflowRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = WorkflowRun

    workflow = factory.SubFactory(WorkflowFactory)
    organization = factory.SelfAttribute("workflow.organization")
    definition = factory.SelfAttribute("workflow.definition")
