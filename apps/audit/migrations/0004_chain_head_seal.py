from django.db import migrations, models


def seal_existing_heads(apps, schema_editor):
    from apps.audit.chain import head_seal

    AuditChain = apps.get_model("audit", "AuditChain")
    for head in AuditChain.objects.all():
        head.seal = head_seal(head)
        head.save(update_fields=["seal"])


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_unconstrain_auditlog_logentry")]

    operations = [
        migrations.AddField(
            model_name="auditchain",
            name="seal",
            field=models.CharField(blank=True, max_length=64),
        ),
        migrations.RunPython(seal_existing_heads, migrations.RunPython.noop),
    ]
