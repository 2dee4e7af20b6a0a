#!/usr/bin/env bash
# Server instructions per request, counted by valgrind's callgrind: unlike requests per second
# on a 2-core machine shared with the database and the load generator, the count varies by about
# 1% from run to run (the per-request maps' hash seeds are random per process), so a change that
# saves a few percent of CPU shows; compare several runs for less. Runs the
# release server under callgrind on the database bench/load.sh keeps (REGISTRY_BENCH_KEEP=1),
# sends FEW and then MANY requests of one query at concurrency 1, and prints the difference
# divided by MANY - FEW (start-up and shutdown cancel out). Not a test: it takes a minute.
# Usage: bench/instructions.sh [scale] [query file]   (default 1, bench/queries/nested_page.json)
# Environment: REGISTRY_BENCH_BIN (the binary; default the release build), FEW (50), MANY (250).
set -euo pipefail
cd "$(dirname "$0")/.."

scale="${1:-1}"
query="${2:-bench/queries/nested_page.json}"
few="${FEW:-50}"
many="${MANY:-250}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-bench-target}"
bin="${REGISTRY_BENCH_BIN:-$CARGO_TARGET_DIR/release/registry}"
admin_url="${REGISTRY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
db_name="registry_bench_load_s${scale//./_}"
export DATABASE_URL="${admin_url%/*}/$db_name"
export REGISTRY_JWT_SECRET="bench-secret-that-is-long-enough-0123456789"
export RUST_LOG=warn
export REGISTRY_RATE_LIMITS=false
export PATH="$HOME/.cargo/bin:$PATH"
port=18997
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

command -v valgrind >/dev/null || { echo "valgrind is needed (apt-get install valgrind)"; exit 2; }
command -v oha >/dev/null || cargo install oha --locked
[ -x "$bin" ] || { echo "no release binary at $bin: run bench/load.sh first, or cargo build --release"; exit 2; }
psql "$admin_url" -Atc "SELECT 1 FROM pg_database WHERE datname = '$db_name'" | grep -q 1 \
  || { echo "no database $db_name: run REGISTRY_BENCH_KEEP=1 bench/load.sh $scale first"; exit 2; }
token=$("$bin" token --role admin --ttl 1h)

# Total instructions of a server run that answers $1 requests.
run() {
  rm -f "$work"/cg.out*
  valgrind --tool=callgrind --callgrind-out-file="$work/cg.out" \
    "$bin" serve --listen "127.0.0.1:$port" --request-timeout-ms 60000 >"$work/server.log" 2>&1 &
  local server=$!
  for _ in $(seq 1 120); do
    curl -s -o /dev/null "http://127.0.0.1:$port/healthz" && break
    sleep 1
  done
  oha --no-tui -c 1 -n "$1" -m POST -H "content-type: application/json" \
    -H "authorization: Bearer $token" -D "$query" "http://127.0.0.1:$port/graphql" >/dev/null
  kill -INT "$server"
  wait "$server" || true
  grep -h "^summary:" "$work"/cg.out* | awk '{ s += $2 } END { print s }'
}

low=$(run "$few")
high=$(run "$many")
per=$(( (high - low) / (many - few) ))
printf '| %s | %s | scale %s | %s | %s instructions/request |\n' \
  "$(date -u +%F)" "$(git rev-parse --short HEAD)" "$scale" "$(basename "$query")" "$per"
