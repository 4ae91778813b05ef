#!/usr/bin/env bash
# Requests per second of an agent update (PATCH of its description) with auditing on and off,
# under gunicorn on loopback, against PostgreSQL (the setup of bench/run.sh):
#   off - the same server with django-auditlog disabled per request (BENCH_AUDIT=off, see
#         bench/audit_update.py): no audit entry, no read of the row as it was
#   on  - production: one hash-chained audit entry per request, under the organization's lock
# Every request changes one agent (bench/audit_update.lua), as the Owner by JWT. The rounds
# alternate off/on BENCH_ROUNDS times; after each one the script divides the rows the round
# inserted into the audit log by the agent rows it updated (PostgreSQL's table statistics):
# 1 with auditing on, 0 off. Any non-2xx answer fails the run. First, it lists the SQL
# statements of one update with auditing on and off, and its time in one process
# (bench/audit_update.py).
# Usage: bash bench/audit_update.sh   (needs PostgreSQL on 127.0.0.1:5432 and wrk)
# Env: BENCH_DURATION (s, default 15), BENCH_CONNECTIONS (16), BENCH_AGENTS (200), BENCH_ROUNDS (2)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-15}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
ROUNDS=${BENCH_ROUNDS:-2}
DB=agentry_bench_audit_update
SQL="psql -h 127.0.0.1 -U postgres -d $DB -Atqc"
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup 8098
CREDENTIALS=$("$PY" bench/seed.py)
JWT=$("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['jwt'])" "$CREDENTIALS")
# shellcheck disable=SC2207
AGENTS=($($SQL "SELECT a.id FROM agents_agent a JOIN organizations_organization o
               ON o.id = a.organization_id WHERE o.slug = 'bench' ORDER BY a.name"))

GUNICORN=
stop() { [ -n "$GUNICORN" ] && { kill "$GUNICORN" 2>/dev/null || true; wait "$GUNICORN" 2>/dev/null || true; }; GUNICORN=; }
trap 'stop; psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true' EXIT

BASE="http://127.0.0.1:$PORT"
URL="$BASE/api/v1/orgs/bench/agents/"

round() {  # auditing: on | off
    BENCH_AUDIT=$1 "$PY" -m gunicorn bench.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 \
        --threads 1 --log-level warning >>/tmp/agentry-bench-audit-gunicorn.log 2>&1 &
    GUNICORN=$!
    for _ in $(seq 1 50); do curl -sf -o /dev/null "$BASE/api/v1/" && break; sleep 0.2; done
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' -X PATCH -H "Authorization: Bearer $JWT" \
        -H "Content-Type: application/json" -d '{"description": "warm-up"}' "$URL${AGENTS[0]}/")
    [ "$status" = 200 ] || { echo "bench: agent update answered $status" >&2; exit 1; }
    sleep 2  # PostgreSQL publishes a backend's table statistics within a second or so
    local before after output
    before=$(table_stats)
    output=$(wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -H "Authorization: Bearer $JWT" \
        -s bench/audit_update.lua "$URL" -- "$1-$(date +%s%N)" "${AGENTS[@]}")
    stop
    sleep 2
    after=$(table_stats)
    if grep -q "Non-2xx" <<<"$output"; then
        echo "bench: auditing $1: $(grep Non-2xx <<<"$output")" >&2
        exit 1
    fi
    awk -v mode="$1" -v before="$before" -v after="$after" '
        /Requests\/sec/ {rps=$2} /Latency/ {lat=$2}
        END {
            split(before, b, "|"); split(after, a, "|")
            printf "| agent update, auditing %s | %s | %s | %.2f |\n", mode, rps, lat,
                (a[1] - b[1]) / (a[2] - b[2])
        }
    ' <<<"$output"
}

# Rows inserted into the audit log and agent rows updated so far: "inserts|updates".
table_stats() {
    $SQL "SELECT sum(n_tup_ins) FILTER (WHERE relname = 'audit_auditentry'),
                 sum(n_tup_upd) FILTER (WHERE relname = 'agents_agent')
          FROM pg_stat_user_tables"
}

"$PY" bench/audit_update.py "${AGENTS[0]}" "$JWT"
echo
echo "| scenario | requests/s | mean latency | audit entries per agent update |"
echo "| --- | --- | --- | --- |"
for _ in $(seq 1 "$ROUNDS"); do
    round off
    round on
done
