from django.core.management.base import BaseCommand
from django.db import transaction

from apps.access.roles import sync_builtin_roles


class Command(BaseCommand):
    help = (
        "Create the built-in roles (owner, admin, editor, viewer) or repair their permissions "
        "to match apps/access/catalog.py. Safe to run again; says what it changed."
    )

    def handle(self, *args, **options):
        with transaction.atomic():
            changes = sync_builtin_roles()
        if not changes:
            self.stdout.write("Built-in roles are up to date.")
            return
        for change in changes:
            self.stdout.write(f"  {change}")
        self.stdout.write(self.style.SUCCESS(f"Built-in roles repaired ({len(changes)} changes)."))
