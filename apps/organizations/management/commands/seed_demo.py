"""Seed a demo organization with one user in each role and some content, for trying the platform."""

from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.access.roles import builtin_role, sync_builtin_roles
from apps.accounts.models import User
from apps.agents import services as agent_services
from apps.agents.models import Agent
from apps.conversations import services as conversation_services
from apps.conversations.models import Conversation
from apps.finetuning import services as finetuning_services
from apps.finetuning.models import FineTuningJob
from apps.knowledge import services as knowledge_services
from apps.knowledge.models import Document, KnowledgeBase
from apps.organizations import services
from apps.organizations.models import BuiltinRole, Membership, Organization
from apps.tools import services as tool_services
from apps.tools.models import Tool
from apps.workflows import services as workflow_services
from apps.workflows.models import Workflow, WorkflowRun


def demo_fixtures() -> Path:
    return Path(settings.BASE_DIR) / "fixtures" / "demo"


DEMO_PASSWORD = "agentry-demo-password"
DEMO_ORGANIZATION_SLUG = "demo"
DEMO_ADMIN_EMAIL = "staff@agentry.test"


def demo_email(role: str) -> str:
    return f"{role}@agentry.test"


class Command(BaseCommand):
    help = (
        "Create (or repair) the demo organization 'demo' with an Owner, Admin, Editor and "
        "Viewer, and a staff user for the admin site. Safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--base-url",
            default="http://127.0.0.1:8000",
            help="Where the platform will be served, for the printed links.",
        )
        parser.add_argument(
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (the demo users have a published password).",
        )

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo users with a published password while DEBUG is off "
                "(pass --allow-production to do it anyway)."
            )
        with transaction.atomic():
            organization, created = self._seed_people()
            created += self._seed_content(organization)
        # Jobs are queued on commit; finish any a worker has not taken yet, so the
        # demo shows finished work whether or not Celery runs inline.
        self._finish_jobs(organization)
        self._report(organization, created, options["base_url"].rstrip("/"))

    def _seed_people(self):
        created = sync_builtin_roles()
        staff = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
        if staff is None:
            staff = User.objects.create_superuser(
                DEMO_ADMIN_EMAIL, DEMO_PASSWORD, display_name="Platform Staff"
            )
            created.append(staff.email)

        users = {}
        for role in BuiltinRole.values:
            user = User.objects.filter(email=demo_email(role)).first()
            if user is None:
                user = User.objects.create_user(
                    demo_email(role), DEMO_PASSWORD, display_name=f"Demo {role.title()}"
                )
                created.append(user.email)
            users[role] = user

        organization = Organization.objects.filter(slug=DEMO_ORGANIZATION_SLUG).first()
        if organization is None:
            organization = services.organization_create(
                name="Demo Organization",
                slug=DEMO_ORGANIZATION_SLUG,
                created_by=users[BuiltinRole.OWNER],
            )
            created.append(f"organization {organization.slug}")
        for role, user in users.items():
            Membership.objects.update_or_create(
                organization=organization, user=user, defaults={"role": builtin_role(role)}
            )
        return organization, created

    def _seed_content(self, organization):
        """An agent with a tool and a knowledge base, a conversation, a workflow, a job."""
        created = []
        editor = User.objects.get(email=demo_email(BuiltinRole.EDITOR))
        scoped = {"organization": organization}

        tool = Tool.objects.filter(**scoped, name="search_handbook").first()
        if tool is None:
            tool = tool_services.tool_create(
                organization=organization,
                created_by=editor,
                name="search_handbook",
                kind=Tool.Kind.RETRIEVAL,
                description="Search the support handbook for a passage.",
                parameters_schema={
                    "type": "object",
                    "properties": {"query": {"type": "string", "minLength": 1}},
                    "required": ["query"],
                },
            )
            created.append("a tool")

        knowledge_base = KnowledgeBase.objects.filter(**scoped, name="Support handbook").first()
        if knowledge_base is None:
            knowledge_base = knowledge_services.knowledge_base_create(
                organization=organization,
                created_by=editor,
                name="Support handbook",
                description="How Acme's support desk works.",
                chunk_size=400,
                chunk_overlap=80,
            )
            knowledge_services.document_upload(
                knowledge_base=knowledge_base,
                uploaded_file=SimpleUploadedFile(
                    "handbook.md", (demo_fixtures() / "handbook.md").read_bytes(), "text/markdown"
                ),
                created_by=editor,
            )
            created.append("a knowledge base with a document")

        agent = Agent.objects.filter(**scoped, name="Support assistant").first()
        if agent is None:
            agent = agent_services.agent_create(
                organization=organization,
                created_by=editor,
                name="Support assistant",
                model_name="gpt-4o-mini",
                description="Answers customers from the support handbook.",
                system_prompt="You are Acme's support assistant. Answer from the handbook.",
                tools=[tool],
                knowledge_bases=[knowledge_base],
            )
            created.append("an agent")

        if not Conversation.objects.filter(**scoped, agent=agent).exists():
            conversation = conversation_services.conversation_create(
                organization=organization, agent=agent, created_by=editor, title="Refund question"
            )
            for role, content, prompt_tokens, completion_tokens in (
                ("user", "Can I still get a refund after six weeks?", 12, 0),
                ("assistant", "After 30 days we offer credit towards a future invoice.", 180, 14),
            ):
                conversation_services.message_create(
                    conversation=conversation,
                    role=role,
                    content=content,
                    created_by=editor,
                    prompt_tokens=prompt_tokens,
                    completion_tokens=completion_tokens,
                )
            created.append("a conversation")

        workflow = Workflow.objects.filter(**scoped, name="Greet a customer").first()
        if workflow is None:
            workflow = workflow_services.workflow_create(
                organization=organization,
                created_by=editor,
                name="Greet a customer",
                definition={
                    "steps": [
                        {
                            "name": "greet",
                            "kind": "transform",
                            "config": {"template": {"text": "Hello {{ input.name }}"}},
                        },
                        {
                            "name": "sign",
                            "kind": "transform",
                            "depends_on": ["greet"],
                            "config": {"template": "{{ steps.greet.text }}, from Acme support"},
                        },
                    ]
                },
            )
            workflow_services.workflow_run_start(
                workflow=workflow, input={"name": "Ada"}, started_by=editor
            )
            created.append("a workflow with a run")

        if not FineTuningJob.objects.filter(**scoped).exists():
            with (demo_fixtures() / "training.jsonl").open("rb") as handle:
                finetuning_services.finetuning_job_create(
                    organization=organization,
                    created_by=editor,
                    base_model="gpt-4o-mini",
                    training_file=File(handle, name="training.jsonl"),
                    hyperparameters={"n_epochs": 2},
                )
            created.append("a fine-tuning job")
        return created

    def _finish_jobs(self, organization):
        for document in Document.objects.filter(
            organization=organization, status=Document.Status.PENDING
        ):
            knowledge_services.document_ingest(document=document)
        for run in WorkflowRun.objects.filter(
            organization=organization, status=WorkflowRun.Status.QUEUED
        ):
            workflow_services.workflow_run_execute(run_id=str(run.pk))
        for job in FineTuningJob.objects.filter(
            organization=organization, status=FineTuningJob.Status.QUEUED
        ):
            finetuning_services.finetuning_job_run(job_id=str(job.pk))

    def _report(self, organization, created, base_url):
        self.stdout.write(
            f"Demo data ready ({', '.join(created) if created else 'nothing new to create'})."
        )
        self.stdout.write("")
        self.stdout.write(f"  API:       {base_url}/api/v1/")
        self.stdout.write(f"  API docs:  {base_url}/api/docs/")
        self.stdout.write(f"  Log in:    {base_url}/api-auth/login/")
        self.stdout.write(f"  Admin:     {base_url}/admin/")
        self.stdout.write("")
        self.stdout.write(f"  Password for every demo login: {DEMO_PASSWORD}")
        for role in BuiltinRole.values:
            self.stdout.write(
                f"  {role:<7} {demo_email(role)}   (organization '{organization.slug}')"
            )
        self.stdout.write(f"  staff   {DEMO_ADMIN_EMAIL}   (admin site)")
