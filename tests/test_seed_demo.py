import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command
from django.test import override_settings

from apps.access.roles import builtin_role
from apps.organizations.management.commands.seed_demo import DEMO_PASSWORD
from apps.organizations.models import Membership, Organization

pytestmark = pytest.mark.django_db


@override_settings(DEBUG=True)
def test_seed_demo_creates_one_user_per_role_and_prints_logins(capsys):
    call_command("seed_demo")
    output = capsys.readouterr().out
    organization = Organization.objects.get(slug="demo")
    roles = dict(
        Membership.objects.filter(organization=organization).values_list("user__email", "role__key")
    )
    assert roles == {
        "owner@agentry.test": "owner",
        "admin@agentry.test": "admin",
        "editor@agentry.test": "editor",
        "viewer@agentry.test": "viewer",
    }
    for email in roles:
        assert email in output
        assert authenticate(username=email, password=DEMO_PASSWORD) is not None
    assert DEMO_PASSWORD in output
    assert "http://127.0.0.1:8000/" in output


@override_settings(DEBUG=True)
def test_seed_demo_is_idempotent_and_repairs_roles(capsys):
    call_command("seed_demo")
    Membership.objects.filter(user__email="admin@agentry.test").update(role=builtin_role("viewer"))
    call_command("seed_demo")
    assert "nothing new to create" in capsys.readouterr().out
    assert Organization.objects.filter(slug="demo").count() == 1
    assert Membership.objects.get(user__email="admin@agentry.test").role.key == "admin"


@override_settings(DEBUG=False)
def test_seed_demo_refuses_in_production():
    with pytest.raises(CommandError, match="DEBUG is off"):
        call_command("seed_demo")
    assert not Organization.objects.filter(slug="demo").exists()


@override_settings(DEBUG=True)
def test_seed_demo_adds_finished_content_of_each_kind():
    from apps.agents.models import Agent
    from apps.conversations.models import Conversation
    from apps.finetuning.models import FineTuningJob
    from apps.knowledge.models import Document
    from apps.workflows.models import WorkflowRun

    call_command("seed_demo")
    call_command("seed_demo")  # a second run adds nothing

    agent = Agent.objects.get(organization__slug="demo")
    assert [tool.name for tool in agent.tools.all()] == ["search_handbook"]
    assert [kb.name for kb in agent.knowledge_bases.all()] == ["Support handbook"]
    document = Document.objects.get(organization__slug="demo")
    assert document.status == Document.Status.READY
    assert document.chunk_count == document.chunks.count() > 1
    conversation = Conversation.objects.get(organization__slug="demo")
    assert conversation.messages.count() == 2
    run = WorkflowRun.objects.get(organization__slug="demo")
    assert run.status == WorkflowRun.Status.SUCCEEDED
    assert run.output == {"sign": "Hello Ada, from Acme support"}
    job = FineTuningJob.objects.get(organization__slug="demo")
    assert job.status == FineTuningJob.Status.SUCCEEDED
    assert job.validation_stats["examples"] == 3
