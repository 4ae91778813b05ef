"""Peak memory of exporting the audit log (CSV and JSON Lines) as it grows, against PostgreSQL.

    .venv/bin/python bench/audit_export.py    (needs PostgreSQL on 127.0.0.1:5432)

Like bench/apikey_verify.py it builds a throw-away database (agentry_bench_audit), migrates
it with the production settings (DEBUG off) and drops it at the end. It appends
BENCH_AUDIT_SMALL (default 10000) entries to one organization's chain through
apps.audit.chain.append, exports them, grows the chain to BENCH_AUDIT_ENTRIES (default
100000) and exports again. Each export is a GET of /api/v1/orgs/bench/audit-logs/export/
by the organization's Owner through Django's test client, in a fresh process (so that its
peak RSS is the export's own); the streamed body is read chunk by chunk and dropped, as a
WSGI server would. Each export is measured twice, in two processes:

- without tracemalloc: seconds, rows per second, and the process's peak RSS
  (resource.getrusage ru_maxrss) before and after the export;
- with tracemalloc: the peak of Python allocations while the body is streamed.

Flat memory means the peaks of the small and of the large export are about the same.
"""

import json
import os
import subprocess
import sys
import time

DB = "agentry_bench_audit"
SMALL = int(os.environ.get("BENCH_AUDIT_SMALL", "10000"))
ENTRIES = int(os.environ.get("BENCH_AUDIT_ENTRIES", "100000"))
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MiB = 1024 * 1024


def admin_sql(statement: str) -> None:
    """Run `statement` (about the database DB) on the server's maintenance database."""
    import psycopg
    from psycopg import sql

    query = sql.SQL(statement).format(db=sql.Identifier(DB))
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(query)


def setup_django() -> None:
    import django

    sys.path.insert(0, ROOT)
    django.setup()


def seed(total: int) -> None:
    """Migrate on first use, then grow the bench organization's chain to `total` entries."""
    setup_django()
    from django.core.management import call_command

    from apps.accounts.models import User
    from apps.audit.chain import append
    from apps.audit.models import AuditEntry
    from apps.organizations.models import Organization
    from apps.organizations.services import organization_create

    call_command("migrate", verbosity=0, interactive=False)
    organization = Organization.objects.filter(slug="bench").first()
    if organization is None:
        owner = User.objects.create_user("bench-audit@agentry.test", "bench-password-1234")
        organization = organization_create(name="Bench", slug="bench", created_by=owner)
    owner = User.objects.get(email="bench-audit@agentry.test")
    count = AuditEntry.objects.filter(organization=organization).count()
    batch = 2000
    while count < total:
        size = min(batch, total - count)
        append(
            [
                AuditEntry(
                    organization_id=organization.pk,
                    event="update",
                    action=1,
                    resource_type="agents.agent",
                    object_pk=f"00000000-0000-4000-8000-{i:012d}",
                    object_repr=f"Support agent {i}",
                    changes={
                        "description": [f"Answers customers, revision {i}", f"revision {i + 1}"],
                        "temperature": ["0.70", "0.50"],
                    },
                    actor_id=owner.pk,
                    actor_email=owner.email,
                    remote_addr="203.0.113.7",
                    user_agent="Mozilla/5.0 (X11; Linux x86_64) bench",
                    cid=f"{i:032x}",
                )
                for i in range(count, count + size)
            ]
        )
        count += size
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {AuditEntry._meta.db_table}")


def measure(file_format: str, traced: bool) -> dict:
    """Export the bench organization's log once, in this process; what it cost."""
    import gc
    import resource
    import tracemalloc

    setup_django()
    from django.test import Client

    from apps.accounts.models import User

    client = Client()
    client.force_login(User.objects.get(email="bench-audit@agentry.test"))
    url = "/api/v1/orgs/bench/audit-logs/export/"
    # Warm-up: the same code path on an empty range (imports, URL resolver, first queries).
    warm = client.get(url, {"format": file_format, "until": "2000-01-01T00:00:00Z"})
    assert warm.status_code == 200, warm.status_code
    for _chunk in warm.streaming_content:
        pass
    gc.collect()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    response = client.get(url, {"format": file_format})
    assert response.status_code == 200, response.status_code
    rows, size = 0, 0
    for chunk in response.streaming_content:
        rows += chunk.count(b"\n")
        size += len(chunk)
    seconds = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] if traced else None
    if traced:
        tracemalloc.stop()
    return {
        "rows": rows - (1 if file_format == "csv" else 0),  # the CSV header
        "bytes": size,
        "seconds": seconds,
        "rss_before": rss_before,
        "rss_peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "traced_peak": peak,
    }


def child(*args: str) -> str:
    completed = subprocess.run(  # noqa: S603 (this very script, with fixed arguments)
        [sys.executable, os.path.abspath(__file__), *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    if completed.returncode:
        sys.stderr.write(completed.stderr)
        raise SystemExit(f"bench: {' '.join(args)} failed")
    return completed.stdout


def main() -> int:
    if len(sys.argv) > 1:  # a child process
        if sys.argv[1] == "seed":
            seed(int(sys.argv[2]))
        else:
            print(json.dumps(measure(sys.argv[2], traced=sys.argv[1] == "traced")))
        return 0

    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1,testserver",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef0123456789",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        ENV_FILE="/dev/null",
        RATE_LIMIT_MAX="1000000000",
    )
    os.environ.pop("REDIS_URL", None)
    admin_sql("DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    admin_sql("CREATE DATABASE {db}")
    results = []
    try:
        for total in (SMALL, ENTRIES):
            child("seed", str(total))
            for file_format in ("csv", "jsonl"):
                plain = json.loads(child("plain", file_format))
                traced = json.loads(child("traced", file_format))
                results.append((total, file_format, plain, traced))
    finally:
        admin_sql("DROP DATABASE IF EXISTS {db} WITH (FORCE)")

    print(
        "| entries | format | body | seconds | rows/s | peak RSS (before → after) "
        "| tracemalloc peak |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for _total, file_format, plain, traced in results:
        print(
            f"| {plain['rows']:,} | {file_format} | {plain['bytes'] / MiB:.1f} MiB "
            f"| {plain['seconds']:.1f} | {plain['rows'] / plain['seconds']:,.0f} "
            f"| {plain['rss_before'] / MiB:.1f} → {plain['rss_peak'] / MiB:.1f} MiB "
            f"| {traced['traced_peak'] / MiB:.2f} MiB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
