# Shared setup of the load benchmarks (sourced by bench/run.sh and bench/audit_update.sh):
# check for wrk and PostgreSQL, make a fresh database $DB, export the production-like settings
# with the rate limits lifted (a benchmark measures serving, not refusing), and migrate.
# Sets PY (the Python to run) and PORT (from BENCH_PORT, else $1).

bench_setup() {  # default_port
    command -v wrk >/dev/null || { echo "bench: wrk is not installed (apt-get install wrk)" >&2; exit 2; }
    pg_isready -q -h 127.0.0.1 -p 5432 || { echo "bench: PostgreSQL is not running on 127.0.0.1:5432" >&2; exit 2; }
    PY=${PYTHON:-.venv/bin/python}
    PORT=${BENCH_PORT:-$1}

    psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $DB" >/dev/null

    export RATE_LIMIT_MAX=1000000000 RATE_LIMIT_AUTH_MAX=1000000000
    export DJANGO_SETTINGS_MODULE=bench.settings DEBUG=false ALLOWED_HOSTS=127.0.0.1 \
        SECRET_KEY=bench-only-secret-key-0123456789abcdef0123456789 \
        AUDIT_CHAIN_KEY=bench-only-audit-chain-key-0123456789abcdef \
        DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" ENV_FILE=/dev/null
    unset REDIS_URL

    "$PY" manage.py migrate --noinput -v0
}
