"""The cost of verifying one API key against PostgreSQL, in microseconds.

    .venv/bin/python bench/apikey_verify.py    (needs PostgreSQL on 127.0.0.1:5432)

Like bench/run.sh it builds a throw-away database (agentry_bench_apikeys, so that both can
run at once), migrates it with the production settings, and drops it at the end. The
table holds BENCH_KEYS keys (default 10000); each measurement is the best of 3 runs of
BENCH_ROUNDS verifications (default 1000) of one key, with `timeit`:

- hash only: the SHA-512 comparison of apps.apikeys.keys (no database);
- hash + lookup: apps.apikeys.verification.find_key, the one indexed query and the hash;
- full check: check_key, which adds the revocation, expiry, creator and IP rules;
- authentication: ApiKeyAuthentication.authenticate on a request, which adds reading the
  headers, the client IP and the once-a-minute last-use guard (in-process cache here).
"""

import os
import sys
import timeit

DB = "agentry_bench_apikeys"
KEYS = int(os.environ.get("BENCH_KEYS", "10000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1000"))


def admin_sql(statement: str) -> None:
    """Run `statement` (about the database DB) on the server's maintenance database."""
    import psycopg
    from psycopg import sql

    query = sql.SQL(statement).format(db=sql.Identifier(DB))
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
        c.execute(query)


def best_microseconds(function) -> float:
    return min(timeit.repeat(function, number=ROUNDS, repeat=3)) / ROUNDS * 1e6


def measure() -> list[tuple[str, float]]:
    import django

    django.setup()

    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory
    from rest_framework.request import Request

    from apps.accounts.models import User
    from apps.apikeys.authentication import ApiKeyAuthentication
    from apps.apikeys.models import ApiKey
    from apps.apikeys.verification import check_key, find_key
    from apps.organizations.services import organization_create

    call_command("migrate", verbosity=0, interactive=False)
    owner = User.objects.create_user("bench-keys@agentry.test", "bench-password-1234")
    organization = organization_create(name="Bench keys", slug="bench-keys", created_by=owner)
    generator = ApiKey.objects.key_generator
    keys, raw_keys = [], []
    for i in range(KEYS):
        raw_key, prefix, hashed_key = generator.generate()
        raw_keys.append(raw_key)
        keys.append(
            ApiKey(
                organization=organization,
                created_by=owner,
                name=f"key {i}",
                prefix=prefix,
                hashed_key=hashed_key,
                scopes=["agents:read"],
            )
        )
    ApiKey.objects.bulk_create(keys, batch_size=2000)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ApiKey._meta.db_table}")

    raw_key = raw_keys[KEYS // 2]
    stored = find_key(raw_key)
    request = RequestFactory().get("/api/v1/", HTTP_X_API_KEY=raw_key, REMOTE_ADDR="127.0.0.1")
    authentication = ApiKeyAuthentication()
    assert authentication.authenticate(Request(request))[1].pk == stored.pk

    return [
        ("hash only", best_microseconds(lambda: generator.verify(raw_key, stored.hashed_key))),
        ("hash + indexed lookup", best_microseconds(lambda: find_key(raw_key))),
        ("full check", best_microseconds(lambda: check_key(raw_key, ip="127.0.0.1"))),
        (
            "authentication class",
            best_microseconds(lambda: authentication.authenticate(Request(request))),
        ),
    ]


def main() -> int:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    os.environ.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DEBUG="false",
        ALLOWED_HOSTS="127.0.0.1",
        SECRET_KEY="bench-only-secret-key-0123456789abcdef0123456789",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{DB}",
        ENV_FILE="/dev/null",
    )
    os.environ.pop("REDIS_URL", None)
    admin_sql("DROP DATABASE IF EXISTS {db}")
    admin_sql("CREATE DATABASE {db}")
    try:
        results = measure()
    finally:
        from django.db import connections

        connections.close_all()
        for connection in connections.all():
            close_pool = getattr(connection, "close_pool", None)
            if close_pool is not None:
                close_pool()
        admin_sql("DROP DATABASE IF EXISTS {db} WITH (FORCE)")
    print(f"| API key verification ({KEYS} keys in the table) | µs per verification |")
    print("| --- | --- |")
    for name, microseconds in results:
        print(f"| {name} | {microseconds:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
