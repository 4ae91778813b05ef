from django.db import migrations

from apps.access import catalog


class Migration(migrations.Migration):
    dependencies = [
        ("organizations", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="membership",
            options={
                "ordering": ["created_at"],
                "permissions": catalog.model_permissions("members"),
            },
        ),
        migrations.AlterModelOptions(
            name="organization",
            options={
                "ordering": ["name", "slug"],
                "permissions": catalog.model_permissions("organization"),
            },
        ),
    ]
