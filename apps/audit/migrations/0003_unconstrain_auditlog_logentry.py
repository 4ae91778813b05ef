"""On PostgreSQL, drop the foreign keys of django-auditlog's own (unused) table.

`AUDITLOG_LOGENTRY_MODEL` swaps in apps.audit's entry, but django-auditlog's
migrations still create `auditlog_logentry`, with foreign keys to the users and
content types tables. Nothing writes to it; its keys only make TRUNCATE of those
tables fail (Django's flush, used between transactional tests).
"""

from django.db import migrations

DROP_FOREIGN_KEYS = """
DO $$
DECLARE name text;
BEGIN
    IF to_regclass('auditlog_logentry') IS NULL THEN RETURN; END IF;
    FOR name IN SELECT conname FROM pg_constraint
                WHERE conrelid = 'auditlog_logentry'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE auditlog_logentry DROP CONSTRAINT %I', name);
    END LOOP;
END $$;
"""


def drop_foreign_keys(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_FOREIGN_KEYS, params=None)


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_append_only_trigger"), ("auditlog", "0017_add_actor_email")]

    operations = [migrations.RunPython(drop_foreign_keys, migrations.RunPython.noop)]
