"""Auditing of the agent update benchmark (bench/audit_update.sh).

- `AuditingOffMiddleware`: the benchmark server's switch, BENCH_AUDIT=off (bench/settings.py).
  Every request runs inside django-auditlog's `disable_auditlog()`: model changes write no
  audit entry (and skip django-auditlog's read of the row as it was). The benchmark server
  is the only place this middleware is ever installed.
- `python bench/audit_update.py AGENT_ID JWT` (run by bench/audit_update.sh against its
  database): the SQL statements of one agent update, with auditing on and off, by kind
  and table, to show what auditing adds to a request; and the time of one update in one
  process (Django's test client, no HTTP server), best of 5 runs of 50, which a busy
  machine disturbs much less than a load test.
"""

import os
import re
import sys
import warnings
from collections import Counter

from auditlog.context import disable_auditlog


class AuditingOffMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with disable_auditlog():
            return self.get_response(request)


def statements_of_one_update(agent_id: str, jwt: str, *, auditing: bool) -> Counter:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_AUTHORIZATION=f"Bearer {jwt}")
    url = f"/api/v1/orgs/bench/agents/{agent_id}/"
    body = f'{{"description": "statements, auditing {auditing}, {os.getpid()}"}}'
    with CaptureQueriesContext(connection) as queries:
        if auditing:
            response = client.patch(url, body, content_type="application/json")
        else:
            with disable_auditlog():
                response = client.patch(url, body, content_type="application/json")
    assert response.status_code == 200, response.status_code
    kinds = Counter()
    for query in queries.captured_queries:
        sql = query["sql"]
        verb = sql.split(None, 1)[0].upper()
        table = re.search(r'(?:FROM|INTO|UPDATE)\s+"?(\w+)"?', sql)
        suffix = " ... FOR UPDATE" if sql.rstrip().endswith("FOR UPDATE") else ""
        kinds[f"{verb} {table.group(1) if table else ''}{suffix}".strip()] += 1
    return kinds


def best_milliseconds_per_update(agent_id: str, jwt: str, *, auditing: bool) -> float:
    """Best of 5 runs of 50 updates through the test client, in ms per update (one process)."""
    import contextlib
    import itertools
    import timeit

    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {jwt}")
    url = f"/api/v1/orgs/bench/agents/{agent_id}/"
    counter = itertools.count()
    switch = contextlib.nullcontext if auditing else disable_auditlog

    def update():
        body = f'{{"description": "timed, auditing {auditing}, {next(counter)}"}}'
        with switch():
            response = client.patch(url, body, content_type="application/json")
        assert response.status_code == 200, response.status_code

    return min(timeit.repeat(update, number=50, repeat=5)) / 50 * 1000


def main() -> int:
    import django

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    os.environ["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    warnings.filterwarnings("ignore", message="No directory at")  # WhiteNoise: no static files
    django.setup()
    agent_id, jwt = sys.argv[1:3]
    statements_of_one_update(agent_id, jwt, auditing=True)  # warm-up: per-process caches
    off = statements_of_one_update(agent_id, jwt, auditing=False)
    on = statements_of_one_update(agent_id, jwt, auditing=True)
    print("| SQL statements of one agent update | auditing off | auditing on |")
    print("| --- | --- | --- |")
    for statement in sorted(set(off) | set(on)):
        print(f"| `{statement}` | {off[statement]} | {on[statement]} |")
    print(f"| total | {sum(off.values())} | {sum(on.values())} |")
    off_ms = best_milliseconds_per_update(agent_id, jwt, auditing=False)
    on_ms = best_milliseconds_per_update(agent_id, jwt, auditing=True)
    print(f"| ms per update, one process (best of 5 x 50) | {off_ms:.2f} | {on_ms:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
