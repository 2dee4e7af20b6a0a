#!/usr/bin/env bash
# HTTP load benchmark: builds release, loads the synthetic data set at the given scale into
# PostgreSQL, starts the server, and drives it with oha: (a) the nested page of 50
# partnerships, (a') the same with totalCount, (b) an actor by id, (c) partnerships filtered by
# theme and country, (d) the funding summary by stream and country, at concurrency 32 (and (a),
# (a'), (b) at concurrency 1). The minimal SQL for (a) and for (a') runs with pgbench for
# comparison. Prints requests/s, p50, p99, the
# ratio to raw SQL, the server's and the database's CPU milliseconds per request, the
# server's peak RSS and its cold start, and the share of the machine's CPU time the hypervisor
# took for other guests during each run ("steal"). Not a test: it takes minutes.
# Usage: bench/load.sh [scale]   (default 1)
# Environment: REGISTRY_BENCH_DURATION (20s), REGISTRY_BENCH_SINGLE_DURATION (10s),
# REGISTRY_BENCH_WINDOWS (waits before each batch of loads, in ms, compared for (a) and (b);
# "0": batching needs none; the first is the one of the main table), REGISTRY_BENCH_KEEP=1 keeps the database for the next run,
# REGISTRY_BENCH_SKIP_BUILD=1 uses the release binary as it is, REGISTRY_BENCH_ROUNDS (3): the
# alternating rounds of raw SQL and server for (a) at c=32, whose median ratio is reported.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

scale="${1:-1}"
duration="${REGISTRY_BENCH_DURATION:-20s}"
single="${REGISTRY_BENCH_SINGLE_DURATION:-10s}"
read -r -a windows <<<"${REGISTRY_BENCH_WINDOWS:-0}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/registry-bench-target}"
export REGISTRY_JWT_SECRET="bench-secret-that-is-long-enough-0123456789"
export RUST_LOG=warn
# The benchmark measures the server, not its per-token quota (one token sends every request).
export REGISTRY_RATE_LIMITS=false
export PATH="$HOME/.cargo/bin:$PATH"
admin_url="${REGISTRY_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}"
db_name="registry_bench_load_s${scale//./_}"
export DATABASE_URL="${admin_url%/*}/$db_name"
work="$(mktemp -d)"
port=18998
url="http://127.0.0.1:$port"
stats="python3 bench/loadstats.py"
tck=$(getconf CLK_TCK)

command -v pgbench >/dev/null || { echo "pgbench is needed (apt-get install postgresql-client)"; exit 2; }
command -v oha >/dev/null || cargo install oha --locked
# REGISTRY_BENCH_SKIP_BUILD=1 runs the binary already built (the same one for several runs).
[ "${REGISTRY_BENCH_SKIP_BUILD:-0}" = 1 ] || cargo build --release --bin registry >/dev/null
bin="$CARGO_TARGET_DIR/release/registry"

server=""
sampler=""
stop_server() {
  if [ -n "$server" ]; then
    kill "$server" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
    server=""
  fi
}
cleanup() {
  [ -z "$sampler" ] || kill "$sampler" 2>/dev/null || true
  stop_server
  rm -rf "$work"
  if [ "${REGISTRY_BENCH_KEEP:-0}" != 1 ]; then
    psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The data: reused when a kept database holds this scale, else loaded afresh.
marker="registry load benchmark, scale $scale"
if [ "$(psql "$admin_url" -Atc "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = '$db_name'")" = "$marker" ]; then
  echo "reusing database $db_name (scale $scale)"
  load_s="(reused)"
else
  psql "$admin_url" -qc "DROP DATABASE IF EXISTS $db_name WITH (FORCE)" >/dev/null 2>&1
  psql "$admin_url" -qc "CREATE DATABASE $db_name" >/dev/null
  start_load=$(date +%s)
  "$bin" seed-synthetic --scale "$scale"
  # Fresh tables have no planner statistics: analyse once so that both the server and pgbench
  # see settled plans, and autovacuum does not start in the middle of a run.
  psql "$DATABASE_URL" -qc "VACUUM ANALYZE" >/dev/null
  psql "$admin_url" -qc "COMMENT ON DATABASE $db_name IS '$marker'" >/dev/null
  load_s="$(( $(date +%s) - start_load )) s"
fi
# The load leaves gigabytes of dirty pages at scale 10; without a checkpoint now, PostgreSQL
# writes them out during the first timed runs (the scale-10 nested page ran at 339 pages/s
# right after a load, 488 on the same data minutes later). Needs superuser or pg_checkpoint.
psql "$DATABASE_URL" -qc "CHECKPOINT" >/dev/null 2>&1 || echo "no CHECKPOINT (not allowed): the first runs may share the machine with the load's writes"

# Starts the server with a batch window; sets the milliseconds to the first /healthz answer and
# to the first GraphQL answer (a cold start on an existing, migrated database) and the RSS then.
token=$("$bin" token --role admin --ttl 2h)
start_server() {
  local t0 t1 t2
  t0=$(date +%s%N)
  REGISTRY_BATCH_WINDOW_MS="$1" "$bin" serve --listen "127.0.0.1:$port" 2>>"$work/server.log" &
  server=$!
  until curl -sf -o /dev/null "$url/healthz"; do
    kill -0 "$server" 2>/dev/null || { echo "the server exited" >&2; exit 1; }
    [ $(( $(date +%s%N) - t0 )) -lt 30000000000 ] || { echo "no answer after 30 s" >&2; exit 1; }
  done
  t1=$(date +%s%N)
  until curl -sf -o /dev/null -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d '{"query":"{ viewer { role } }"}' "$url/graphql"; do :; done
  t2=$(date +%s%N)
  cold_health_ms=$(( (t1 - t0) / 1000000 ))
  cold_graphql_ms=$(( (t2 - t0) / 1000000 ))
  rest_mb=$(awk '/VmRSS/ { printf "%d", $2 / 1024 }' "/proc/$server/status")
}

# One POST of a query file; fails loudly when the answer has "errors". Prints its size.
check() {
  curl -sS -o "$work/answer.json" -H "authorization: Bearer $token" -H 'content-type: application/json' \
    -d @"$1" "$url/graphql"
  $stats check "$work/answer.json" || { echo "FAIL: $1 answered with errors" >&2; exit 1; }
  wc -c <"$work/answer.json"
}

server_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$server/stat"; }

rows=()
per_req() { awk -v t="$1" -v n="$2" -v h="$tck" 'BEGIN { if (n > 0) printf "%.3f", t * 1000 / h / n; else print "–" }'; }
row() { # label concurrency rps p50 p99 ratio server_ms db_ms peak_rss failures steal
  rows+=("$(printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |' "$@")")
  printf '%-34s c=%-3s %9s req/s  p50 %7s ms  p99 %7s ms  raw-SQL ratio %-5s server %6s ms/req  db %6s ms/req  RSS peak %s MB  failed: %s  steal %s%%\n' "$@"
}
# The machine's CPU time taken by the hypervisor for other guests ("steal", /proc/stat) and its
# total, in ticks: on these shared virtual machines a run during which the host took a tenth of
# the time reads slower for reasons outside the server, and the column says so.
cpu_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= 9; i++) t += $i; print $9, t }' /proc/stat; }
steal_pct() { # ticks before, ticks after
  awk -v a="$1" -v b="$2" 'BEGIN { split(a, x, " "); split(b, y, " "); d = y[2] - x[2]
    if (d > 0) printf "%.0f", (y[1] - x[1]) * 100 / d; else print "–" }'
}
# The server's peak resident memory so far, in MB.
hwm() { awk '/VmHWM/ { printf "%d", $2 / 1024 }' "/proc/$server/status"; }

# Waits until no statement runs in the benchmark database (the statements of requests answered
# 503/504 may still be running), so that they do not count in the next run.
quiesce() {
  local t0=$SECONDS
  while [ "$(psql "$DATABASE_URL" -Atc "SELECT count(*) FROM pg_stat_activity WHERE datname = '$db_name'
      AND state = 'active' AND pid <> pg_backend_pid()")" != 0 ]; do
    [ $((SECONDS - t0)) -lt 300 ] || { echo "statements still running after 300 s" >&2; break; }
    sleep 0.5
  done
  [ $((SECONDS - t0)) -lt 2 ] || echo "  (waited $((SECONDS - t0)) s for the database to finish the statements of abandoned requests)"
}

# The raw SQL's transactions/s at c=32, by the label of the query it stands for.
declare -A raw_rps=()
# oha against the running server: label, query file, concurrency, duration.
drive() {
  local label=$1 file=$2 conc=$3 dur=$4 bytes s0 s1 c0 c1 out rps p50 p99 n failed note db
  ratio=""
  quiesce
  bytes=$(check "$file")
  # A few warm-up requests (prepared statements, pool connections) outside the measurement.
  oha --no-tui -n 64 -c "$conc" -m POST -H 'content-type: application/json' \
    -H "authorization: Bearer $token" -D "$file" "$url/graphql" >/dev/null
  $stats dbcpu "$db_name" "$work/dbcpu" & sampler=$!
  sleep 0.2
  s0=$(server_ticks)
  c0=$(cpu_ticks)
  oha --no-tui --output-format json -c "$conc" -z "$dur" -w -m POST -H 'content-type: application/json' \
    -H "authorization: Bearer $token" -D "$file" "$url/graphql" >"$work/oha.json"
  s1=$(server_ticks)
  c1=$(cpu_ticks)
  kill -TERM "$sampler"; wait "$sampler" || true; sampler=""
  out=$($stats oha "$work/oha.json" "$bytes") || { echo "FAIL: $label: $out" >&2; exit 1; }
  read -r rps p50 p99 n failed note <<<"$out"
  if [ "$conc" = 32 ] && [ -n "${raw_rps[$label]:-}" ]; then
    ratio=$(awk -v a="$rps" -v b="${raw_rps[$label]}" 'BEGIN { printf "%.2f", a / b }')
  fi
  db=$(per_req "$(cat "$work/dbcpu")" "$n")
  [ "$failed" = 0 ] && note="-" || note="$failed ($note)"
  row "$label" "$conc" "$rps" "$p50" "$p99" "${ratio:-}" \
    "$(per_req "$((s1 - s0))" "$n")" "$db" "$(hwm)" "$note" "$(steal_pct "$c0" "$c1")"
}

# The minimal SQL for (a) with pgbench: the ids it would pass come from the same data.
ids() { psql "$DATABASE_URL" -Atc "$1"; }
page="SELECT id FROM partnership ORDER BY created_at DESC, id DESC LIMIT 50"
pids=$(ids "SELECT '{' || string_agg(id::text, ',') || '}' FROM ($page) p")
members="SELECT * FROM (SELECT m.*, ROW_NUMBER() OVER (PARTITION BY partnership_id ORDER BY id) AS rn
  FROM membership m WHERE partnership_id IN ($page) AND left_on IS NULL) r WHERE rn <= 10"
aids=$(ids "SELECT '{' || string_agg(DISTINCT actor_id::text, ',') || '}' FROM ($members) m")
sids=$(ids "SELECT '{' || string_agg(DISTINCT stream_id::text, ',') || '}' FROM (SELECT * FROM (SELECT a.*,
  ROW_NUMBER() OVER (PARTITION BY partnership_id ORDER BY id) AS rn FROM allocation a
  WHERE partnership_id IN ($page)) r WHERE rn <= 10) a")
raw_sql() { # label of the query it stands for, SQL file, concurrency, duration
  local label=$1 sql=$2 conc=$3 dur=${4%s} out rps p50 p99 n c0 c1
  quiesce
  rm -f "$work"/pgb.*
  $stats dbcpu "$db_name" "$work/dbcpu" & sampler=$!
  sleep 0.2
  c0=$(cpu_ticks)
  (cd "$work" && pgbench -n -M prepared -c "$conc" -j 2 -T "$dur" -l --log-prefix=pgb \
    -D "pids=$pids" -D "aids=$aids" -D "sids=$sids" -f "$root/$sql" \
    "$DATABASE_URL") >"$work/pgbench.out" 2>&1 || { cat "$work/pgbench.out"; exit 1; }
  c1=$(cpu_ticks)
  kill -TERM "$sampler"; wait "$sampler" || true; sampler=""
  out=$($stats pgbench "$work/pgbench.out" "$work/pgb") || { echo "FAIL: pgbench: $out" >&2; exit 1; }
  read -r rps p50 p99 n <<<"$out"
  [ "$conc" = 32 ] && raw_rps[$label]=$rps
  row "${label%% *} raw SQL (pgbench)" "$conc" "$rps" "$p50" "$p99" "1.00" "–" \
    "$(per_req "$(cat "$work/dbcpu")" "$n")" "–" "-" "$(steal_pct "$c0" "$c1")"
}

# The actor for (b): the first one listed.
start_server "${windows[0]}"
cold=("window ${windows[0]} ms: health ${cold_health_ms} ms, first GraphQL ${cold_graphql_ms} ms (RSS then ${rest_mb} MB)")
check bench/queries/first_actor.json >/dev/null
actor=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["data"]["actors"]["edges"][0]["node"]["id"])' "$work/answer.json")
sed "s/ACTOR_ID/$actor/" bench/queries/actor_by_id.json >"$work/actor_by_id.json"

echo
echo "scale $scale, data load $load_s; batch window ${windows[0]} ms (the main table)"
plain="(a) nested page"
counted="(a') nested page with totalCount"
# (a) at c=32 in alternating rounds of the raw SQL and the server: on these machines the CPU
# one process gets swings by a third within minutes (the server's CPU a page at c=32 read
# 1.49-2.72 ms in four runs of one binary on one machine), so one pair of runs measures the
# machine's phase as much as the code; the median of the rounds' ratios is the figure.
rounds="${REGISTRY_BENCH_ROUNDS:-3}"
ratios=()
for ((r = 1; r <= rounds; r++)); do
  raw_sql "$plain" bench/sql/nested_page.sql 32 "$duration"
  drive "$plain" bench/queries/nested_page.json 32 "$duration"
  ratios+=("$ratio")
done
median_ratio=$(printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.2f", (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
raw_sql "$counted" bench/sql/nested_page_count.sql 32 "$duration"
drive "$counted" bench/queries/nested_page_count.json 32 "$duration"
drive "(b) actor by id" "$work/actor_by_id.json" 32 "$duration"
drive "(c) filtered partnerships" bench/queries/filtered.json 32 "$duration"
raw_sql "$plain" bench/sql/nested_page.sql 1 "$single"
drive "$plain" bench/queries/nested_page.json 1 "$single"
raw_sql "$counted" bench/sql/nested_page_count.sql 1 "$single"
drive "$counted" bench/queries/nested_page_count.json 1 "$single"
drive "(b) actor by id" "$work/actor_by_id.json" 1 "$single"
# Last: it overloads the pool, and the statements of abandoned requests may run on afterwards.
drive "(d) funding summary" bench/queries/funding_summary.json 32 "$duration"
peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$server/status")
rss=("window ${windows[0]} ms: $((peak_kb / 1024)) MB")
stop_server
quiesce

for w in "${windows[@]:1}"; do
  start_server "$w"
  cold+=("window $w ms: health ${cold_health_ms} ms, first GraphQL ${cold_graphql_ms} ms (RSS then ${rest_mb} MB)")
  drive "(a) nested page, window $w ms" bench/queries/nested_page.json 32 "$duration"
  drive "(a) nested page, window $w ms" bench/queries/nested_page.json 1 "$single"
  drive "(b) actor by id, window $w ms" "$work/actor_by_id.json" 1 "$single"
  peak_kb=$(awk '/VmHWM/ { print $2 }' "/proc/$server/status")
  rss+=("window $w ms: $((peak_kb / 1024)) MB")
  stop_server
done

echo
echo "### Scale $scale ($(date -u +%Y-%m-%d), batch window ${windows[0]} ms unless named, $duration runs at c=32, $single at c=1)"
echo
echo "| query | concurrency | requests/s | p50 ms | p99 ms | ratio to raw SQL | server CPU ms/req | db CPU ms/req | server peak RSS so far, MB | failed | steal % |"
echo "|---|---|---|---|---|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "Server peak RSS (VmHWM): $(IFS=';'; echo "${rss[*]}" | sed 's/;/; /g')."
echo "Cold start to first answer: $(IFS=';'; echo "${cold[*]}" | sed 's/;/; /g')."
echo "(a) at c=32, ratio to raw SQL in $rounds alternating rounds: ${ratios[*]}; median $median_ratio."
echo "Data load: $load_s."
if [ -s "$work/server.log" ]; then
  echo "Server log: $(grep -c WARN "$work/server.log" || true) warnings, $(grep -c ERROR "$work/server.log" || true) errors; the first lines:"
  head -5 "$work/server.log" | sed 's/\x1b\[[0-9;]*m//g' | cut -c1-300
fi
