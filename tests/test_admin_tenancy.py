"""Staff edits in the admin stay inside one organization."""

import pytest

from apps.accounts.models import User
from apps.agents.models import Agent
from apps.conversations.models import Conversation
from apps.knowledge.models import KnowledgeBase

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    client.force_login(User.objects.create_superuser("staff@example.com", "pw-for-tests-only"))
    return client


def test_an_objects_organization_cannot_be_changed(staff_client, organization):
    knowledge_base = KnowledgeBase.objects.create(organization=organization, name="Docs")
    page = staff_client.get(f"/admin/knowledge/knowledgebase/{knowledge_base.pk}/change/")
    assert page.status_code == 200
    assert 'name="organization"' not in page.content.decode()


def test_a_conversation_cannot_point_at_another_organizations_agent(
    staff_client, organization, other_organization
):
    mine = Agent.objects.create(organization=organization, name="Mine", model_name="m")
    foreign = Agent.objects.create(organization=other_organization, name="Theirs", model_name="m")
    conversation = Conversation.objects.create(organization=organization, agent=mine, title="T")
    response = staff_client.post(
        f"/admin/conversations/conversation/{conversation.pk}/change/",
        {"agent": foreign.pk, "title": "Moved", "owner": "", "created_by": ""},
    )
    assert response.status_code == 200  # the form again, with the error
    assert "belongs to another organization" in response.content.decode()
    conversation.refresh_from_db()
    assert conversation.agent_id == mine.pk
    assert conversation.title == "T"


def test_the_last_owner_cannot_be_demoted_or_deleted_in_the_admin(staff_client, owner):
    from apps.access.roles import builtin_role

    viewer = builtin_role("viewer")
    page = f"/admin/organizations/membership/{owner.pk}/"
    response = staff_client.post(f"{page}change/", {"role": viewer.pk})
    assert response.status_code == 200
    assert "last Owner" in response.content.decode()
    assert staff_client.post(f"{page}delete/", {"post": "yes"}).status_code == 403
    owner.refresh_from_db()
    assert owner.role.key == "owner"


def test_deleting_an_organization_in_the_admin_removes_it(staff_client, organization, owner):
    from apps.organizations.models import Organization

    url = f"/admin/organizations/organization/{organization.pk}/delete/"
    assert staff_client.post(url, {"post": "yes"}).status_code == 302
    assert not Organization.objects.filter(pk=organization.pk).exists()
