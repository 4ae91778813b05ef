"""Memberships point at a Role (a Django group of permissions) instead of holding a role name."""

import django.db.models.deletion
from django.db import migrations, models


def link_roles(apps, schema_editor):
    Membership = apps.get_model("organizations", "Membership")
    Role = apps.get_model("access", "Role")
    builtin = {role.key: role for role in Role.objects.filter(organization__isnull=True)}
    for membership in Membership.objects.all().only("pk", "role_key"):
        membership.role = builtin[membership.role_key]
        membership.save(update_fields=["role"])


def unlink_roles(apps, schema_editor):
    Membership = apps.get_model("organizations", "Membership")
    for membership in Membership.objects.select_related("role"):
        # Custom roles have no name-only equivalent; viewer is the safe reading of one.
        membership.role_key = membership.role.key if membership.role.organization_id is None else "viewer"
        membership.save(update_fields=["role_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0002_permissions"),
        ("access", "0002_builtin_roles"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="membership", name="organizatio_organiz_e82976_idx"),
        migrations.RenameField(model_name="membership", old_name="role", new_name="role_key"),
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.ForeignKey(
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="access.role",
            ),
        ),
        migrations.RunPython(link_roles, unlink_roles),
        migrations.RemoveField(model_name="membership", name="role_key"),
        migrations.AlterField(
            model_name="membership",
            name="role",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="memberships",
                to="access.role",
            ),
        ),
    ]
