#!/usr/bin/env bash
# Export memory benchmark: loads 1,000,000 allocations into a fresh database, starts the
# release server, and streams GET /export/allocations.csv. Passes when the server's peak
# resident memory during the export is under 100 MB above its memory at rest. Not a test:
# it builds release and takes minutes. Usage: bench/export-memory.sh [postgres|sqlite] [rows]
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-postgres}"
rows="${2:-1000000}"
limit_mb=100
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-bench-target}"
export REGISTRY_JWT_SECRET="bench-secret-that-is-long-enough-0123456789"
export RUST_LOG=warn
admin_url="${REGISTRY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
work="$(mktemp -d)"
port=18999

cargo build --release --bin registry >/dev/null
bin="$CARGO_TARGET_DIR/release/registry"

case "$backend" in
  postgres)
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS registry_bench WITH (FORCE)" >/dev/null 2>&1
    psql "$admin_url" -qc "CREATE DATABASE registry_bench" >/dev/null
    export DATABASE_URL="${admin_url%/*}/registry_bench"
    sql() { psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -qc "$1" >/dev/null; }
    uuid="gen_random_uuid()"
    series="SELECT i FROM generate_series(1, $rows) AS s(i)"
    now="now()"
    ;;
  sqlite)
    export DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
    command -v sqlite3 >/dev/null || { echo "sqlite3 is needed for the SQLite load (apt-get install sqlite3)"; exit 2; }
    sql() { sqlite3 "$work/bench.db" "$1"; }
    uuid="randomblob(16)"
    series="WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $rows) SELECT i FROM s"
    now="strftime('%Y-%m-%dT%H:%M:%f+00:00', 'now')"
    ;;
  *) echo "usage: $0 [postgres|sqlite] [rows]"; exit 2 ;;
esac

"$bin" migrate >/dev/null
start_load=$(date +%s)
# One actor, partnership and programme; then the allocations in one INSERT ... SELECT.
if [ "$backend" = postgres ]; then
  sql "INSERT INTO actor (id, kind, name, name_folded, country, verified, created_at, updated_at) VALUES ('0195a2b0-0000-7000-8000-0000000000aa', 'NGO', 'Bench NGO', 'bench ngo', 'ES', FALSE, now(), now())"
  sql "INSERT INTO partnership (id, title, title_folded, description, kind, governance_levels, themes_key, start_date, status, created_at, updated_at) VALUES ('0195a2b0-0000-7000-8000-0000000000bb', 'Bench', 'bench', '', 'PROJECT_CONSORTIUM', 'LOCAL', 'HOUSING', '2021-01-01', 'ACTIVE', now(), now())"
  sql "INSERT INTO membership (id, partnership_id, actor_id, roles, is_lead, joined_on, created_at, updated_at) VALUES ('0195a2b0-0000-7000-8000-0000000000cc', '0195a2b0-0000-7000-8000-0000000000bb', '0195a2b0-0000-7000-8000-0000000000aa', 'LEAD', TRUE, '2021-01-01', now(), now())"
  sql "INSERT INTO programme (id, stream_id, code, title, managing_authority_id, country, envelope_cents, created_at, updated_at) VALUES ('0195a2b0-0000-7000-8000-0000000000dd', '0195a2b0-0000-7000-8000-000000000001', 'BENCH1', 'Bench', '0195a2b0-0000-7000-8000-0000000000aa', 'ES', 0, now(), now())"
  sql "INSERT INTO allocation (id, partnership_id, stream_id, ceiling_rule_id, programme_id, eligible_cost_cents, eu_contribution_cents, national_contribution_cents, status, decision_date, decision_year, reference, created_at, updated_at) SELECT $uuid, '0195a2b0-0000-7000-8000-0000000000bb', '0195a2b0-0000-7000-8000-000000000001', '0195a2b0-0001-7000-8000-000000000001', '0195a2b0-0000-7000-8000-0000000000dd', 100000 + i, 75000, 0, 'REQUESTED', NULL, NULL, 'BENCH-' || i, $now, $now FROM ($series) AS rows"
else
  x() { printf "X'%s'" "$(echo "$1" | tr -d -)"; }
  sql "INSERT INTO actor (id, kind, name, name_folded, country, verified, created_at, updated_at) VALUES ($(x 0195a2b0-0000-7000-8000-0000000000aa), 'NGO', 'Bench NGO', 'bench ngo', 'ES', FALSE, $now, $now)"
  sql "INSERT INTO partnership (id, title, title_folded, description, kind, governance_levels, themes_key, start_date, status, created_at, updated_at) VALUES ($(x 0195a2b0-0000-7000-8000-0000000000bb), 'Bench', 'bench', '', 'PROJECT_CONSORTIUM', 'LOCAL', 'HOUSING', '2021-01-01', 'ACTIVE', $now, $now)"
  sql "INSERT INTO membership (id, partnership_id, actor_id, roles, is_lead, joined_on, created_at, updated_at) VALUES ($(x 0195a2b0-0000-7000-8000-0000000000cc), $(x 0195a2b0-0000-7000-8000-0000000000bb), $(x 0195a2b0-0000-7000-8000-0000000000aa), 'LEAD', TRUE, '2021-01-01', $now, $now)"
  sql "INSERT INTO programme (id, stream_id, code, title, managing_authority_id, country, envelope_cents, created_at, updated_at) VALUES ($(x 0195a2b0-0000-7000-8000-0000000000dd), $(x 0195a2b0-0000-7000-8000-000000000001), 'BENCH1', 'Bench', $(x 0195a2b0-0000-7000-8000-0000000000aa), 'ES', 0, $now, $now)"
  sql "INSERT INTO allocation (id, partnership_id, stream_id, ceiling_rule_id, programme_id, eligible_cost_cents, eu_contribution_cents, national_contribution_cents, status, decision_date, decision_year, reference, created_at, updated_at) SELECT $uuid, $(x 0195a2b0-0000-7000-8000-0000000000bb), $(x 0195a2b0-0000-7000-8000-000000000001), $(x 0195a2b0-0001-7000-8000-000000000001), $(x 0195a2b0-0000-7000-8000-0000000000dd), 100000 + i, 75000, 0, 'REQUESTED', NULL, NULL, 'BENCH-' || i, $now, $now FROM ($series)"
fi
load_s=$(( $(date +%s) - start_load ))

"$bin" serve --listen "127.0.0.1:$port" &
server=$!
cleanup() {
  kill "$server" 2>/dev/null || true
  wait "$server" 2>/dev/null || true
  rm -rf "$work"
  if [ "$backend" = postgres ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS registry_bench WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.2; done
token=$("$bin" token --role admin)
# Warm up (connections, first query plans), then take the resting memory.
curl -sf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
  -d '{"query":"{ allocations(first: 100) { totalCount } }"}' "http://127.0.0.1:$port/graphql" >/dev/null
sleep 1
rest_kb=$(awk '/VmRSS/ {print $2}' "/proc/$server/status")
start_ns=$(date +%s%N)
lines=$(curl -sf -H "Authorization: Bearer $token" "http://127.0.0.1:$port/export/allocations.csv" | wc -l)
export_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/$server/status")
growth_mb=$(( (peak_kb - rest_kb) / 1024 ))

printf '| %s | %s | %s rows (+ header) | load %ss | export %sms (%s rows/s) | RSS at rest %s MB | peak %s MB | growth %s MB |\n' \
  "$(date -u +%Y-%m-%d)" "$backend" "$((lines - 1))" "$load_s" "$export_ms" "$(( (lines - 1) * 1000 / (export_ms + 1) ))" \
  "$((rest_kb / 1024))" "$((peak_kb / 1024))" "$growth_mb"
if [ "$((lines - 1))" -ne "$rows" ]; then
  echo "FAIL: exported $((lines - 1)) rows, expected $rows" >&2
  exit 1
fi
if [ "$growth_mb" -ge "$limit_mb" ]; then
  echo "FAIL: peak memory grew by $growth_mb MB during the export (limit $limit_mb MB)" >&2
  exit 1
fi
echo "PASS: $rows rows streamed; memory grew by $growth_mb MB (limit $limit_mb MB)"
