import pytest

from apps.accounts.models import User
from apps.agents.admin import AgentAdminForm
from apps.knowledge.models import KnowledgeBase

from ..tools.factories import ToolFactory
from .factories import AgentFactory

pytestmark = pytest.mark.django_db


def admin_form(organization, **overrides):
    data = {
        "organization": str(organization.pk),
        "name": "Support",
        "description": "",
        "model_name": "gpt-4o-mini",
        "system_prompt": "",
        "temperature": "0.70",
        "max_output_tokens": "1024",
        "is_active": "on",
        **overrides,
    }
    return AgentAdminForm(data=data)


def test_admin_pages_render(client, organization):
    client.force_login(User.objects.create_superuser("root@example.com", "pw-for-tests-only"))
    agent = AgentFactory(organization=organization, tools=[ToolFactory(organization=organization)])
    for url in (
        "/admin/agents/agent/",
        "/admin/agents/agent/add/",
        f"/admin/agents/agent/{agent.pk}/change/",
    ):
        assert client.get(url).status_code == 200, url


def test_admin_form_keeps_tools_and_knowledge_in_the_agents_organization(
    organization, other_organization
):
    own_tool = ToolFactory(organization=organization)
    foreign_tool = ToolFactory(organization=other_organization, name="theirs")
    foreign_base = KnowledgeBase.objects.create(organization=other_organization, name="Theirs")
    form = admin_form(
        organization,
        tools=[str(own_tool.pk), str(foreign_tool.pk)],
        knowledge_bases=[str(foreign_base.pk)],
    )
    assert not form.is_valid()
    assert "Not of the organization acme: theirs." in form.errors["tools"]
    assert "Not of the organization acme: Theirs." in form.errors["knowledge_bases"]

    valid = admin_form(organization, tools=[str(own_tool.pk)])
    assert valid.is_valid(), valid.errors
    agent = valid.save()
    assert list(agent.tools.all()) == [own_tool]
