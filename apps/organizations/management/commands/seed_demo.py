"""Seed a demo organization with one user in each role, for trying the platform locally."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from apps.accounts.models import User
from apps.organizations import services
from apps.organizations.models import Membership, Organization, Role

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
            "--allow-production",
            action="store_true",
            help="Seed even with DEBUG off (the demo users have a published password).",
        )

    @transaction.atomic
    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError(
                "Refusing to create demo users with a published password while DEBUG is off "
                "(pass --allow-production to do it anyway)."
            )
        created = []

        staff = User.objects.filter(email=DEMO_ADMIN_EMAIL).first()
        if staff is None:
            staff = User.objects.create_superuser(
                DEMO_ADMIN_EMAIL, DEMO_PASSWORD, display_name="Platform Staff"
            )
            created.append(staff.email)

        users = {}
        for role in Role.values:
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
                name="Demo Organization", slug=DEMO_ORGANIZATION_SLUG, created_by=users[Role.OWNER]
            )
            created.append(f"organization {organization.slug}")
        for role, user in users.items():
            Membership.objects.update_or_create(
                organization=organization, user=user, defaults={"role": role}
            )

        self.stdout.write(
            f"Demo data ready ({', '.join(created) if created else 'nothing new to create'})."
        )
        self.stdout.write("")
        self.stdout.write("  API:       http://127.0.0.1:8000/api/v1/")
        self.stdout.write("  API docs:  http://127.0.0.1:8000/api/docs/")
        self.stdout.write("  Log in:    http://127.0.0.1:8000/api-auth/login/")
        self.stdout.write("  Admin:     http://127.0.0.1:8000/admin/")
        self.stdout.write("")
        self.stdout.write(f"  Password for every demo login: {DEMO_PASSWORD}")
        for role in Role.values:
            self.stdout.write(
                f"  {role:<7} {demo_email(role)}   (organization '{organization.slug}')"
            )
        self.stdout.write(f"  staff   {DEMO_ADMIN_EMAIL}   (admin site)")
