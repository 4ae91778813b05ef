#!/usr/bin/env bash
# Requests per second of the agent list under gunicorn on loopback, against PostgreSQL:
#   unchecked  - the same list and serializer with no membership or permission checks (baseline)
#   role       - an Owner: membership and role permission checked per request
#   grants     - a custom role without agents:read, narrowed to its read grants (half the agents)
#   jwt, key   - the Owner's list again, authenticated by a JWT access token and by an API key
# Usage: bash bench/run.sh            (needs PostgreSQL on 127.0.0.1:5432 and wrk: apt-get install wrk)
# Env: BENCH_DURATION (s, default 15), BENCH_CONNECTIONS (16), BENCH_AGENTS (200), BENCH_PAGE (50)
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${BENCH_DURATION:-15}
CONNECTIONS=${BENCH_CONNECTIONS:-16}
PAGE=${BENCH_PAGE:-50}
DB=agentry_bench
# shellcheck source=bench/lib.sh
. bench/lib.sh
bench_setup 8099
COOKIES=$("$PY" bench/seed.py)
cookie() { "$PY" -c "import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])" "$COOKIES" "$1"; }

"$PY" -m gunicorn bench.wsgi:application --bind "127.0.0.1:$PORT" --workers 2 --threads 1 \
    --log-level warning >/tmp/agentry-bench-gunicorn.log 2>&1 &
GUNICORN=$!
trap 'kill $GUNICORN 2>/dev/null || true; wait $GUNICORN 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT/api/v1/" && break; sleep 0.2; done

run() {  # name url [header]
    local header=()
    [ -n "${3:-}" ] && header=(-H "$3")
    local status
    status=$(curl -s -o /dev/null -w '%{http_code}' "${header[@]}" "$2")
    [ "$status" = 200 ] || { echo "bench: $1 answered $status" >&2; exit 1; }
    wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" "${header[@]}" "$2" | awk -v n="$1" '
        /Requests\/sec/ {rps=$2} /Latency/ {lat=$2}
        END {printf "| %s | %s | %s |\n", n, rps, lat}'
}

BASE="http://127.0.0.1:$PORT"
echo "| scenario | requests/s | mean latency |"
echo "| --- | --- | --- |"
run "agent list, no permission checks (baseline)" "$BASE/bench/unchecked/orgs/bench/agents/?page_size=$PAGE"
LIST="$BASE/api/v1/orgs/bench/agents/?page_size=$PAGE"
run "agent list, Owner by session (role permission)" "$LIST" "Cookie: sessionid=$(cookie owner)"
run "agent list, narrowed to object grants (session)" "$LIST" "Cookie: sessionid=$(cookie granted)"
run "agent list, Owner by JWT" "$LIST" "Authorization: Bearer $(cookie jwt)"
run "agent list, Owner's API key (agents:read)" "$LIST" "Authorization: Api-Key $(cookie api_key)"

psql -h 127.0.0.1 -U postgres -qc "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
