#!/usr/bin/env bash
# bench_compare.sh: the whole comparison in one go — Sluice vs InfluxDB 1.6.7 vs VictoriaMetrics
# on this machine — for the PERFORMANCE.md table.
#
# Builds release once. Then for each series count of SERIES_COUNTS and each round 1..ROUNDS,
# for each server in turn (the order rotates by one every round, so each server goes first
# equally often), with a fresh data directory:
#   1. check its ports are free; record the load average; start it; wait for /ping 204;
#   2. drive it with sluice-load (the flags of tools/bench_ingest.sh: explicit timestamps,
#      FIELDS float fields, BATCH_LINES lines a request, CONNECTIONS connections) for DURATION,
#      but never stopping before ceil(series / BATCH_LINES) batches were sent (--min-batches):
#      with explicit timestamps line g goes to series g % series, so that floor is one full
#      round and every series is written at least once (at 1M series one round is 200 requests
#      of 5,000 lines, longer than 20 s for a slow server; capped at LOAD_TIMEOUT_S);
#   3. read VmHWM (peak RSS) right after the load;
#   4. count what was stored: InfluxDB `SELECT count(*)` per region (REGION_COUNT queries,
#      so 1M series do not exhaust its memory), VictoriaMetrics /internal/force_flush then its
#      vm_rows counters, Sluice `sluice export` after the clean stop (as bench_ingest.sh does);
#   5. stop it, start it again on the same data directory: start-up = exec to the first /ping
#      204 (polled every PING_POLL_S; all three open their series indexes before listening);
#      read RSS then; stop it; record the load average; delete the data.
# Every run's figures and logs go to target/bench/compare-runs-<UTC>/ (kept);
# tools/bench_compare_report.py takes the median, min and max over the rounds and the
# Sluice/peer ratios of the medians, prints a Markdown table, and writes target/bench/compare-<UTC>.json (+ compare-latest.json, compare-<UTC>.md).
# WITH_QUERY=1 / WITH_STORAGE=1 also run tools/bench_query.sh (its 100-host set only) /
# tools/bench_storage.sh and fold their summaries in. UPDATE_PERFORMANCE_MD=1 writes the table into PERFORMANCE.md between the
# markers `<!-- compare-table:start -->` and `<!-- compare-table:end -->`.
# Exits non-zero if a server failed to start or died, a load did not finish, or Sluice stored
# a different count than it acknowledged (a peer's mismatch is reported, not fatal: InfluxDB
# answers 500 "timeout" at 1M series and may still store those points).
#
# Settings (environment):
#   SERIES_COUNTS="1000 100000 1000000" ROUNDS=3 DURATION=20s   the grid
#   SERVERS="sluice influxdb victoria-metrics"                   servers (first order)
#   FIELDS=10 BATCH_LINES=5000 CONNECTIONS=4 INTERVAL=10s        load shape
#   LOAD_TIMEOUT_S=1200      give up one load after this long (recorded as a failed run)
#   VERIFY_TIMEOUT_S=900     longest InfluxDB count(*) / VictoriaMetrics flush
#   WITH_QUERY=1 WITH_STORAGE=1 (and BENCH_CASES=... for bench_storage.sh)
#   SKIP_BUILD=1             use the existing target/release binaries
#   KEEP_TMP=1               keep the data directories (under /tmp/bench-compare-*)
#   SLUICE_PORT=18650 INFLUXDB_PORT=18750 (RPC: port + 1) VM_PORT=18850
#   INFLUXD=influxd VICTORIA_METRICS=victoria-metrics
set -euo pipefail

readonly STARTUP_TIMEOUT_S=600
readonly STOP_TIMEOUT_S=300
readonly PING_POLL_S=0.01
readonly MEASUREMENT=m
readonly DB=bench
# InfluxDB is counted one `region` at a time (sluice-load gives series s the tag
# region=r<s mod REGION_COUNT>, tools/sluice-load/batch.rs): one `SELECT count(*)` over 1M
# series x 10 fields grew InfluxDB past 11 GiB of RSS in 4 minutes without answering.
readonly REGION_COUNT=16

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench"
readonly SERIES_COUNTS=${SERIES_COUNTS:-1000 100000 1000000}
readonly ROUNDS=${ROUNDS:-3}
readonly DURATION=${DURATION:-20s}
readonly SERVERS=${SERVERS:-sluice influxdb victoria-metrics}
readonly FIELDS=${FIELDS:-10}
readonly BATCH_LINES=${BATCH_LINES:-5000}
readonly CONNECTIONS=${CONNECTIONS:-4}
readonly INTERVAL=${INTERVAL:-10s}
readonly LOAD_TIMEOUT_S=${LOAD_TIMEOUT_S:-1200}
readonly VERIFY_TIMEOUT_S=${VERIFY_TIMEOUT_S:-900}
readonly SLUICE_PORT=${SLUICE_PORT:-18650}
readonly INFLUXDB_PORT=${INFLUXDB_PORT:-18750}
readonly INFLUXDB_RPC_PORT=$((INFLUXDB_PORT + 1))
readonly VM_PORT=${VM_PORT:-18850}
readonly INFLUXD=${INFLUXD:-influxd}
readonly VICTORIA_METRICS=${VICTORIA_METRICS:-victoria-metrics}
readonly SLUICE_BIN="$ROOT/target/release/sluice"
readonly LOAD_BIN="$ROOT/target/release/sluice-load"

SERVER_PID=""
TMP_ROOT=""
RUNS_DIR=""
# Set by start_server: nanoseconds from exec to the first /ping 204.
STARTUP_NS=0

BENCH_LOG_PREFIX=bench-compare
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"

cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]]; then stop_server "$SERVER_PID" || true; fi
    remove_tmp_root "${KEEP_TMP:-0}"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

url_of() {
    case "$1" in
        sluice) echo "http://127.0.0.1:$SLUICE_PORT" ;;
        influxdb) echo "http://127.0.0.1:$INFLUXDB_PORT" ;;
        victoria-metrics) echo "http://127.0.0.1:$VM_PORT" ;;
    esac
}

ports_of() {
    case "$1" in
        sluice) echo "$SLUICE_PORT" ;;
        influxdb) echo "$INFLUXDB_PORT $INFLUXDB_RPC_PORT" ;;
        victoria-metrics) echo "$VM_PORT" ;;
    esac
}

# The settings of tools/bench_ingest.sh, plus the series limits off: InfluxDB refuses more
# than 1M series per database and 100k values per tag by default, and `host` has one value
# per series.
write_influxdb_config() {
    local dir=$1
    write_influxdb_conf "$dir/influxdb.conf" "$dir" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT" \
        '  max-series-per-database = 0
  max-values-per-tag = 0'
}

# start_server NAME DIR LOG: starts NAME on DIR; sets SERVER_PID and STARTUP_NS.
start_server() {
    local name=$1 dir=$2 logfile=$3 url started code deadline port
    for port in $(ports_of "$name"); do require_port_free "$port"; done
    url=$(url_of "$name")
    started=$(date +%s%N)
    case "$name" in
        sluice)
            SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_META_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_PORT" SLUICE_DATA_DIR="$dir/data" \
                SLUICE_META_DIR="$dir/meta" SLUICE_DATA_WAL_DIR="$dir/wal" \
                SLUICE_DATA_WAL_FSYNC_DELAY=0s \
                "$SLUICE_BIN" run >>"$logfile" 2>&1 &
            ;;
        influxdb)
            "$INFLUXD" -config "$dir/influxdb.conf" >>"$logfile" 2>&1 &
            ;;
        victoria-metrics)
            "$VICTORIA_METRICS" -storageDataPath="$dir/vm" \
                -httpListenAddr="127.0.0.1:$VM_PORT" -retentionPeriod=100y \
                -search.disableCache >>"$logfile" 2>&1 &
            ;;
        *) die "unknown server $name" ;;
    esac
    SERVER_PID=$!
    deadline=$((SECONDS + STARTUP_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        kill -0 "$SERVER_PID" 2>/dev/null || die "$name died at start-up (see $logfile)"
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/ping" || true)
        if [[ "$code" == 204 ]]; then
            STARTUP_NS=$(($(date +%s%N) - started))
            return 0
        fi
        sleep "$PING_POLL_S"
    done
    die "$name did not answer /ping in ${STARTUP_TIMEOUT_S}s (see $logfile)"
}

# run_load NAME SERIES OUT_JSON: the same load for every server; returns non-zero if the load
# did not finish within LOAD_TIMEOUT_S (OUT_JSON is then missing).
run_load() {
    local name=$1 series=$2 out=$3 min_batches
    # One full round: every series gets at least one line.
    min_batches=$(((series + BATCH_LINES - 1) / BATCH_LINES))
    log "$name: sluice-load, $series series, $DURATION (at least $min_batches batches)"
    timeout "$LOAD_TIMEOUT_S" "$LOAD_BIN" --url "$(url_of "$name")" --db "$DB" --create-db \
        --measurement "$MEASUREMENT" --series "$series" --fields "$FIELDS" \
        --batch-lines "$BATCH_LINES" --connections "$CONNECTIONS" --duration "$DURATION" \
        --min-batches "$min_batches" --timestamps explicit --interval "$INTERVAL" \
        --allow-errors --quiet --json "$out" >"${out%.json}.txt"
}

# count_influxdb: prints "stored_lines stored_values" from SELECT count(*), region by region.
count_influxdb() {
    local region lines=0 values=0 counts
    for ((region = 0; region < REGION_COUNT; region++)); do
        counts=$(curl -s -G --max-time "$VERIFY_TIMEOUT_S" "$(url_of influxdb)/query" \
            --data-urlencode "db=$DB" --data-urlencode \
            "q=SELECT count(*) FROM \"$MEASUREMENT\" WHERE region = 'r$region'" |
            python3 -c '
import json, sys
series = json.load(sys.stdin)["results"][0].get("series", [{}])[0]
row = dict(zip(series.get("columns", []), series.get("values", [[]])[0]))
print(row.get("count_f0", 0), sum(v for k, v in row.items() if k.startswith("count_")))
') || return 1
        lines=$((lines + ${counts% *}))
        values=$((values + ${counts#* }))
    done
    echo "$lines $values"
}

# count_victoria_metrics: prints "stored_lines stored_values" once every buffered row is in
# a part: the rows of the storage parts (each field of a line is one VictoriaMetrics row);
# lines = rows of the f0 metric are not counted separately, so lines = values / FIELDS.
count_victoria_metrics() {
    local url
    url=$(url_of victoria-metrics)
    curl -s --max-time "$VERIFY_TIMEOUT_S" "$url/internal/force_flush" >/dev/null
    curl -s --max-time 60 "$url/metrics" | python3 -c '
import re, sys
fields = int(sys.argv[1])
rows = 0
for line in sys.stdin:
    match = re.match(r"vm_rows\{type=\"storage/(big|small)\"\} (\d+)", line)
    if match:
        rows += int(match.group(2))
print(rows // fields, rows)
' "$FIELDS"
}

# vm_ignored_rows: rows VictoriaMetrics accepted (204) but dropped, by reason, as JSON.
vm_ignored_rows() {
    curl -s --max-time 60 "$(url_of victoria-metrics)/metrics" | python3 -c '
import json, re, sys
ignored = {}
for line in sys.stdin:
    match = re.match(r"vm_rows_ignored_total\{reason=\"([^\"]+)\"\} (\d+)", line)
    if match:
        ignored[match.group(1)] = int(match.group(2))
print(json.dumps(ignored))
'
}

# count_sluice DIR: prints "stored_lines stored_values" from `sluice export` (server stopped).
count_sluice() {
    local dir=$1
    "$SLUICE_BIN" export -datadir "$dir/data" 2>"$dir/export.err" |
        awk -v prefix="$MEASUREMENT," 'index($0, prefix) == 1 {
            lines++; values += split($2, parts, ",") } END {print lines + 0, values + 0}'
}

# bench_run NAME SERIES ROUND: one fresh run; writes RUNS_DIR/SERIES-ROUND-NAME.json.
bench_run() {
    local name=$1 series=$2 round=$3 tag dir logfile load_json loaded=true
    tag="$series-$round-$name"
    dir="$TMP_ROOT/$tag"
    logfile="$RUNS_DIR/$tag.log"
    load_json="$RUNS_DIR/$tag-load.json"
    mkdir -p "$dir"
    if [[ "$name" == influxdb ]]; then write_influxdb_config "$dir"; fi
    local load_before peak_kb counts="" vm_ignored="null" empty_startup_ns
    load_before=$(loadavg)
    log "$tag: start (load average $load_before)"
    start_server "$name" "$dir" "$logfile"
    empty_startup_ns=$STARTUP_NS
    if ! run_load "$name" "$series" "$load_json"; then
        loaded=false
        log "$tag: the load did not finish in ${LOAD_TIMEOUT_S}s"
    fi
    kill -0 "$SERVER_PID" 2>/dev/null || die "$tag: $name died during the load (see $logfile)"
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    local count_started count_ns=0
    count_started=$(date +%s%N)
    case "$name" in
        influxdb) counts=$(count_influxdb) || log "$tag: counting failed" ;;
        victoria-metrics)
            counts=$(count_victoria_metrics) || log "$tag: counting failed"
            vm_ignored=$(vm_ignored_rows) || vm_ignored="null"
            ;;
    esac
    count_ns=$(($(date +%s%N) - count_started))
    local stop_started stop_ns
    stop_started=$(date +%s%N)
    stop_server "$SERVER_PID"
    stop_ns=$(($(date +%s%N) - stop_started))
    if [[ "$name" == sluice ]]; then
        count_started=$(date +%s%N)
        counts=$(count_sluice "$dir") || log "$tag: sluice export failed (see $dir/export.err)"
        count_ns=$(($(date +%s%N) - count_started))
    fi
    local size_kb
    size_kb=$(du -sk "$dir" | cut -f1)
    start_server "$name" "$dir" "$logfile"
    local startup_ns=$STARTUP_NS rss_kb
    rss_kb=$(status_kb "$SERVER_PID" VmRSS)
    stop_server "$SERVER_PID"
    local load_after stored_lines stored_values
    load_after=$(loadavg)
    read -r stored_lines stored_values <<<"${counts:-null null}"
    log "$tag: stored $stored_lines lines / $stored_values values, peak RSS $((peak_kb / 1024))" \
        "MiB, start-up $((startup_ns / 1000000)) ms (load average $load_after)"
    cat >"$RUNS_DIR/$tag.json" <<EOF
{"server": "$name", "series": $series, "round": $round, "loaded": $loaded,
 "load": $(if [[ -s "$load_json" ]]; then cat "$load_json"; else echo null; fi),
 "vm_hwm_kb": ${peak_kb:-null}, "stored_lines": ${stored_lines:-null},
 "stored_values": ${stored_values:-null}, "count_ns": $count_ns,
 "vm_rows_ignored": $vm_ignored,
 "startup_empty_ns": $empty_startup_ns, "stop_ns": $stop_ns, "disk_kb": ${size_kb:-null},
 "startup_ns": $startup_ns, "rss_after_startup_kb": ${rss_kb:-null},
 "loadavg_before": "$load_before", "loadavg_after": "$load_after"}
EOF
    if [[ "${KEEP_TMP:-0}" != 1 ]]; then rm -rf "$dir"; fi
}

# rotated ROUND: SERVERS rotated left by ROUND - 1.
rotated() {
    local -a servers
    read -r -a servers <<<"$SERVERS"
    local count=${#servers[@]} shift i
    shift=$((($1 - 1) % count))
    for ((i = 0; i < count; i++)); do
        printf '%s ' "${servers[$(((i + shift) % count))]}"
    done
}

# run_other NAME SCRIPT: runs a companion bench script; prints the path of the summary JSON
# it wrote to OUT_DIR (NAME-<UTC>.json), or nothing if it failed.
run_other() {
    local name=$1 script=$2 marker="$RUNS_DIR/before-$1"
    touch "$marker"
    log "running $script (output in $RUNS_DIR/$name.txt)"
    # The companions take their own ports from the same ranges; they are checked free too.
    # `env`: the port variables are readonly here, so a plain VAR=value prefix is refused.
    env BENCH_SKIP_BUILD=1 BENCH_SKIP_1M=1 BENCH_TMPDIR="$TMP_ROOT" SLUICE_PORT=$((SLUICE_PORT + 1)) \
        INFLUXDB_PORT=$((INFLUXDB_PORT + 2)) VM_PORT=$((VM_PORT + 1)) \
        "$ROOT/tools/$script" >"$RUNS_DIR/$name.txt" 2>"$RUNS_DIR/$name.err" ||
        log "$script failed (see $RUNS_DIR/$name.err); its figures are left out"
    find "$OUT_DIR" -maxdepth 1 -name "$name-2*.json" -newer "$marker" | sort | tail -1
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    command -v ss >/dev/null || die "ss (iproute2) is needed to check the ports"
    local server series round
    for server in $SERVERS; do
        case "$server" in
            sluice) ;;
            influxdb) command -v "$INFLUXD" >/dev/null || die "$INFLUXD not found" ;;
            victoria-metrics) command -v "$VICTORIA_METRICS" >/dev/null ||
                die "$VICTORIA_METRICS not found (apt-get install -y victoria-metrics)" ;;
            *) die "unknown server $server (sluice, influxdb or victoria-metrics)" ;;
        esac
    done
    [[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer, not $ROUNDS"
    for series in $SERIES_COUNTS; do
        [[ "$series" =~ ^[1-9][0-9]*$ ]] || die "series count $series is not a positive integer"
    done
    mkdir -p "$OUT_DIR"
    if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --bin sluice --bin sluice-load)
    fi
    [[ -x "$SLUICE_BIN" && -x "$LOAD_BIN" ]] || die "missing release binaries"
    TMP_ROOT=$(mktemp -d /tmp/bench-compare-XXXXXX)
    local started_utc
    started_utc=$(date -u +%Y%m%dT%H%M%SZ)
    # Logs and per-run figures stay after the exit (a server that dies leaves its log here).
    RUNS_DIR="$OUT_DIR/compare-runs-$started_utc"
    mkdir -p "$RUNS_DIR"
    for series in $SERIES_COUNTS; do
        for ((round = 1; round <= ROUNDS; round++)); do
            for server in $(rotated "$round"); do
                bench_run "$server" "$series" "$round"
            done
        done
    done
    local query_json="" storage_json=""
    if [[ "${WITH_QUERY:-0}" == 1 ]]; then
        query_json=$(run_other query bench_query.sh)
    fi
    if [[ "${WITH_STORAGE:-0}" == 1 ]]; then
        storage_json=$(run_other storage bench_storage.sh)
    fi
    local performance_md=""
    if [[ "${UPDATE_PERFORMANCE_MD:-0}" == 1 ]]; then performance_md="$ROOT/PERFORMANCE.md"; fi
    python3 "$ROOT/tools/bench_compare_report.py" --runs "$RUNS_DIR" --out "$OUT_DIR" \
        --stamp "$started_utc" --servers "$SERVERS" --series-counts "$SERIES_COUNTS" \
        --query-json "$query_json" --storage-json "$storage_json" \
        --performance-md "$performance_md"
}

# One line, so that editing this file while it runs cannot make bash read on into the edit.
main "$@"; exit $?
