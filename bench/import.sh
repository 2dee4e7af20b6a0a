#!/usr/bin/env bash
# Bulk import benchmark: writes a JSON Lines file of one actor, one partnership and N
# allocations (default 1,000,000) on the demo AMIF programme, and times `registry import`
# of it into a fresh database with the release build, with its peak memory. The target is
# under 60 s for 1,000,000 allocations on PostgreSQL and on SQLite. Not a test: it builds
# release and takes minutes. Usage: bench/import.sh [postgres|sqlite] [rows]
set -euo pipefail
cd "$(dirname "$0")/.."

backend="${1:-postgres}"
rows="${2:-1000000}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-bench-target}"
export RUST_LOG=warn
admin_url="${REGISTRY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cargo build --release --bin registry >/dev/null
bin="$CARGO_TARGET_DIR/release/registry"

case "$backend" in
  postgres)
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS registry_import_bench WITH (FORCE)" >/dev/null 2>&1
    psql "$admin_url" -qc "CREATE DATABASE registry_import_bench" >/dev/null
    export DATABASE_URL="${admin_url%/*}/registry_import_bench"
    count() { psql "$DATABASE_URL" -Atc "SELECT count(*) FROM allocation WHERE reference LIKE 'BENCH-%'"; }
    ;;
  sqlite)
    export DATABASE_URL="sqlite://$work/bench.db?mode=rwc"
    count() { sqlite3 "$work/bench.db" "SELECT count(*) FROM allocation WHERE reference LIKE 'BENCH-%'"; }
    ;;
  *) echo "usage: $0 [postgres|sqlite] [rows]"; exit 2 ;;
esac

"$bin" seed-demo >/dev/null
file="$work/allocations.jsonl"
python3 - "$rows" > "$file" <<'PY'
import json, random, sys
rows = int(sys.argv[1])
random.seed(2026)
out = sys.stdout
out.write(json.dumps({"type": "actor", "ref": "ngo", "kind": "NGO", "name": "Bench NGO", "country": "ES"}) + "\n")
out.write(json.dumps({"type": "partnership", "ref": "p", "title": "Bench partnership", "kind": "PROJECT_CONSORTIUM",
                      "themes": ["HOUSING"], "startDate": "2024-01-01", "leadActorRef": "ngo"}) + "\n")
for i in range(rows):
    eligible = random.randrange(100_000, 20_000_000)
    eu = eligible * 3 // 4
    out.write('{"type":"allocation","partnershipRef":"p","programmeCode":"DEMOAMIFUNIONACTIONS",'
              '"ceilingCase":"STANDARD","eligibleCost":"%d.%02d","euContribution":"%d.%02d","reference":"BENCH-%07d"}\n'
              % (eligible // 100, eligible % 100, eu // 100, eu % 100, i))
PY
size_mb=$(( $(stat -c %s "$file") / 1000000 ))
echo "file: $rows allocations, $size_mb MB"

/usr/bin/time -f "%e %M" -o "$work/time" "$bin" import --format jsonl "$file" >"$work/out" 2>"$work/err" \
  || { cat "$work/err"; exit 1; }
read -r elapsed rss_kb <"$work/time"
imported=$(count)
cat "$work/out"
printf '| %s | %s | %s | %s | %.1f s | %.0f rows/s | %d MB |\n' \
  "$(date -u +%F)" "$backend" "$rows" "$imported" "$elapsed" "$(echo "$rows / $elapsed" | bc -l)" $(( rss_kb / 1024 ))
if [ "$imported" -ne "$rows" ]; then
  echo "FAIL: $imported allocations in the database, expected $rows"; exit 1
fi
if [ "$(echo "$elapsed < 60" | bc -l)" -ne 1 ]; then
  echo "MISS: over the 60 s target"; exit 1
fi
echo "PASS: under 60 s"
