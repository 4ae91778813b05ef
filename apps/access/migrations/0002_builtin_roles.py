"""Seed the built-in roles (owner, admin, editor, viewer) as Django groups of permissions."""

from django.db import migrations


def seed(apps, schema_editor):
    from apps.access.roles import sync_builtin_roles

    sync_builtin_roles(apps)


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0001_initial"),
        ("organizations", "0002_permissions"),
        ("conversations", "0003_alter_conversation_options"),
        ("finetuning", "0002_alter_finetuningjob_options"),
        ("agents", "0004_alter_agent_options_agentrolegrant_agentusergrant"),
        ("knowledge", "0003_alter_knowledgebase_options_knowledgebaserolegrant_and_more"),
        ("tools", "0003_alter_tool_options_toolrolegrant_toolusergrant"),
        ("workflows", "0003_alter_workflow_options_workflowrolegrant_and_more"),
    ]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
