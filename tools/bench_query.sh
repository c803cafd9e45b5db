#!/usr/bin/env bash
# bench_query.sh: query latency, Sluice vs InfluxDB 1.6.7 vs VictoriaMetrics, on the same data,
# side by side in one run, on fresh and on compacted data (issue 17).
#
# For each data set of BENCH_SETS:
#   hosts  100 hosts x 10 float fields, one point per 10 s for 24 h (864,000 lines, 8.64M
#          values); queries H1-H9 (tools/bench_query.py: last()/first() by host, count(*),
#          max by 1h and host, mean of a host by 1m, SHOW TAG VALUES, mean of a region by 5m,
#          mean by 1d, a host regex)
#   1m     1M series (host=host0..host999999) x 1 field x 3 points an hour apart (3M values);
#          queries M1-M5 (SHOW TAG VALUES, SHOW SERIES CARDINALITY, SHOW MEASUREMENTS, count
#          over all series, count WHERE host =~ regex)
# the three servers start on fresh data directories (same disk, loopback) and the same data is
# loaded into each with sluice-load, InfluxDB first, then VictoriaMetrics (which ingests line
# protocol at /write and names each field's series m_<field>), then Sluice, so that Sluice has
# the least time to tidy up before the fresh phase. Then:
#   fresh      BENCH_FRESH_DELAY_S after Sluice's load ends, with nothing settled: cold
#              durations of an hour keep Sluice's and InfluxDB's caches unsnapshotted by age
#              (size-driven snapshots and level compactions happen during the loads as they
#              would), VictoriaMetrics as it is;
#   compacted  all three stopped and started again on the same data, Sluice and InfluxDB with
#              5 s cold durations, and waited for until every Sluice shard is one fully
#              compacted file with empty WAL segments, every InfluxDB shard one TSM file with
#              an empty cache, and VictoriaMetrics has flushed and force-merged (no merge
#              running, no pending rows).
# In each phase tools/bench_query.py checks every answer (Sluice's JSON = InfluxDB's;
# VictoriaMetrics' numbers = InfluxDB's within float tolerance where the MetricsQL is an
# equivalent), then times one query at a time, the servers taking turns in a rotating order,
# over one keep-alive raw socket each. The report (markdown tables per set and phase: median,
# p90, Sluice/InfluxDB and Sluice/VM ratios of medians, "meets goal" = Sluice <= 0.5 x InfluxDB
# and <= VM) goes to stdout and target/bench/query-<UTC>.md; every latency, the load averages,
# server CPU seconds and storage state to target/bench/query-<UTC>.json (+ query-latest.*).
# Exits non-zero if a server failed to start, a load failed, or an answer differs.
#
# Settings (environment):
#   BENCH_SETS="hosts 1m"               data sets (BENCH_SKIP_1M=1 drops 1m)
#   BENCH_PHASES="fresh compacted"      phases timed
#   BENCH_RUNS=25 BENCH_WARMUP=3        timed and warm-up runs per query and server (hosts)
#   BENCH_LIGHT_RUNS=300                timed runs of a light query (every warm-up under 5 ms)
#   BENCH_1M_RUNS=5 BENCH_1M_WARMUP=1   the same for the 1m set (its queries take seconds)
#   BENCH_FRESH_DELAY_S=5               wait between the last load and the fresh phase
#   BENCH_NICE=-5                       niceness of the servers and the timing client, through
#                                       nice(1), which execs (so $! is the server); a negative
#                                       value needs root
#   BENCH_SETTLE_TIMEOUT_S=1200         longest wait for the servers to settle
#   BENCH_SKIP_BUILD=1                  use the existing release binaries
#   CARGO_TARGET_DIR=target             where the release binaries are
#   BENCH_TMPDIR=/tmp                   where the data dirs go (kept with BENCH_KEEP_TMP=1)
#   BENCH_HOLD=1                        after the last phase, keep the servers up until Ctrl-C
#                                       (for profiling: perf record -g -p PID)
#   SLUICE_PORT=18690 INFLUXDB_PORT=18780 (RPC: port + 1) VM_PORT=18890   loopback HTTP ports
#                                       (not 18790: tools/golden_query_diff.py's default)
#   INFLUXD=influxd VICTORIA_METRICS=victoria-metrics
set -euo pipefail

readonly STARTUP_TIMEOUT_S=600
readonly STOP_TIMEOUT_S=300
readonly LOAD_CONNECTIONS=2
readonly LOAD_TIMEOUT=1200s
# Fresh phase: nothing is snapshotted or fully compacted for its age during the run.
readonly FRESH_COLD_DURATION=1h
# Compacted phase: both write their caches and fully compact soon after the restart.
readonly SETTLE_COLD_DURATION=5s
# Sluice WAL segments hold a 16-byte header before any record (src/wal.rs).
readonly SLUICE_WAL_HEADER_BYTES=16
readonly SETTLE_POLL_S=1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench"
readonly BIN_DIR="${CARGO_TARGET_DIR:-$ROOT/target}/release"
SETS=${BENCH_SETS:-hosts 1m}
if [[ "${BENCH_SKIP_1M:-0}" == 1 ]]; then SETS=${SETS//1m/}; fi
readonly SETS
readonly PHASES=${BENCH_PHASES:-fresh compacted}
readonly RUNS=${BENCH_RUNS:-25}
readonly WARMUP=${BENCH_WARMUP:-3}
readonly LIGHT_RUNS=${BENCH_LIGHT_RUNS:-300}
readonly MILLION_RUNS=${BENCH_1M_RUNS:-5}
readonly MILLION_WARMUP=${BENCH_1M_WARMUP:-1}
readonly FRESH_DELAY_S=${BENCH_FRESH_DELAY_S:-5}
readonly NICE=${BENCH_NICE:--5}
readonly SETTLE_TIMEOUT_S=${BENCH_SETTLE_TIMEOUT_S:-1200}
readonly SLUICE_PORT=${SLUICE_PORT:-18690}
readonly INFLUXDB_PORT=${INFLUXDB_PORT:-18780}
readonly INFLUXDB_RPC_PORT=$((INFLUXDB_PORT + 1))
readonly VM_PORT=${VM_PORT:-18890}
readonly INFLUXD=${INFLUXD:-influxd}
readonly VICTORIA_METRICS=${VICTORIA_METRICS:-victoria-metrics}
readonly SLUICE_BIN="$BIN_DIR/sluice"
readonly LOAD_BIN="$BIN_DIR/sluice-load"
readonly SLUICE_URL="http://127.0.0.1:$SLUICE_PORT"
readonly INFLUXDB_URL="http://127.0.0.1:$INFLUXDB_PORT"
readonly VM_URL="http://127.0.0.1:$VM_PORT"
readonly DRIVER="$ROOT/tools/bench_query.py"

SERVER_PID=""
SLUICE_PID=""
INFLUXDB_PID=""
VM_PID=""
TMP_ROOT=""
SET_DIR=""
STAMP=""

# log, die, stop_server, wait_for_ping, write_influxdb_conf: tools/bench_lib.sh.
BENCH_LOG_PREFIX=bench-query

stop_all() {
    if [[ -n "$SLUICE_PID" ]]; then stop_server "$SLUICE_PID" || true; fi
    if [[ -n "$INFLUXDB_PID" ]]; then stop_server "$INFLUXDB_PID" || true; fi
    if [[ -n "$VM_PID" ]]; then stop_server "$VM_PID" || true; fi
    SLUICE_PID="" INFLUXDB_PID="" VM_PID=""
}

cleanup() {
    local status=$?
    stop_all
    remove_tmp_root "${BENCH_KEEP_TMP:-0}"
    exit "$status"
}
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_servers COLD_DURATION: all three on SET_DIR (existing data kept).
start_servers() {
    local cold=$1 set_name
    set_name=$(basename "$SET_DIR")
    mkdir -p "$SET_DIR/sluice" "$SET_DIR/influxdb" "$SET_DIR/vm"
    log "$set_name: starting sluice, influxdb and victoria-metrics (cold duration $cold)"
    SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_META_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_PORT" \
        SLUICE_DATA_DIR="$SET_DIR/sluice/data" SLUICE_META_DIR="$SET_DIR/sluice/meta" \
        SLUICE_DATA_WAL_DIR="$SET_DIR/sluice/wal" SLUICE_DATA_WAL_FSYNC_DELAY=0s \
        SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION="$cold" SLUICE_MONITOR_STORE_ENABLED=false \
        SLUICE_DATA_MAX_SERIES_PER_DATABASE=0 SLUICE_DATA_MAX_VALUES_PER_TAG=0 \
        nice -n "$NICE" "$SLUICE_BIN" run >>"$OUT_DIR/query-$set_name-sluice.log" 2>&1 &
    SLUICE_PID=$!
    # The series limits off on both (1M values of host); a write may wait long on 1M new series.
    write_influxdb_conf "$SET_DIR/influxdb/influxdb.conf" "$SET_DIR/influxdb" "$INFLUXDB_PORT" \
        "$INFLUXDB_RPC_PORT" "  cache-snapshot-write-cold-duration = \"$cold\"
  compact-full-write-cold-duration = \"$cold\"
  max-series-per-database = 0
  max-values-per-tag = 0" '[coordinator]
  write-timeout = "600s"'
    nice -n "$NICE" "$INFLUXD" -config "$SET_DIR/influxdb/influxdb.conf" \
        >>"$OUT_DIR/query-$set_name-influxdb.log" 2>&1 &
    INFLUXDB_PID=$!
    # No response cache (it would answer repeated queries without running them); limits
    # raised so that the 1m set's queries are allowed; keep-alive connections kept (it closes
    # every connection after 2 min by default, idle ones after 1 min).
    nice -n "$NICE" "$VICTORIA_METRICS" -storageDataPath="$SET_DIR/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
        -retentionPeriod=100y -search.disableCache -search.maxUniqueTimeseries=3000000 \
        -search.maxTagValues=3000000 -search.maxQueryDuration=1200s -http.connTimeout=24h -http.idleConnTimeout=1h \
        >>"$OUT_DIR/query-$set_name-vm.log" 2>&1 &
    VM_PID=$!
    wait_for_ping "$SLUICE_URL" "$SLUICE_PID" || die "sluice did not answer /ping"
    wait_for_ping "$INFLUXDB_URL" "$INFLUXDB_PID" || die "influxd did not answer /ping"
    wait_for_ping "$VM_URL" "$VM_PID" || die "victoria-metrics did not answer /ping"
}

# load SET NAME URL: the set's data into one server; every line must be accepted.
load() {
    local set_name=$1 name=$2 url=$3 shape lines json
    case "$set_name" in
        hosts) shape=(--series 100 --fields 10 --batch-lines 4800 --batches 180 --interval 10s) ;;
        1m) shape=(--series 1000000 --fields 1 --batch-lines 5000 --batches 600 --interval 1h) ;;
        *) die "unknown set $set_name" ;;
    esac
    lines=$((${shape[5]} * ${shape[7]}))
    json="$OUT_DIR/query-$set_name-$name-load.json"
    log "$set_name: loading $name ($lines lines)"
    "$LOAD_BIN" --url "$url" --db bench --create-db --measurement m "${shape[@]}" \
        --connections "$LOAD_CONNECTIONS" --duration "$LOAD_TIMEOUT" --timeout 600s \
        --timestamps explicit --quiet --json "$json" >/dev/null
    python3 - "$json" "$lines" <<'EOF' || die "$set_name: $name did not accept every line (see $json)"
import json, sys
load = json.load(open(sys.argv[1]))
sys.exit(0 if load["lines_accepted"] == int(sys.argv[2]) and load["requests_failed"] == 0 else 1)
EOF
    log "$set_name: $name loaded in $(python3 -c 'import json,sys; print(round(json.load(open(sys.argv[1]))["elapsed_s"], 1))' "$json" 2>/dev/null || echo '?') s"
}

# Settled: every Sluice shard holds one fully compacted file and no WAL segment holds a record.
sluice_settled() {
    local dir="$SET_DIR/sluice" shard files
    [[ -z $(find "$dir/wal" -name '*.wal' -size +"${SLUICE_WAL_HEADER_BYTES}"c) ]] || return 1
    [[ -z $(find "$dir/data" -name '*.tmp') ]] || return 1
    for shard in "$dir"/data/[0-9]*/; do
        files=$(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l)
        [[ "$files" == 1 ]] || return 1
        [[ -n $(find "$shard" -maxdepth 1 -name '*-l4.tsm') ]] || return 1
    done
}

# Settled: every InfluxDB shard holds one TSM file and an empty cache (/debug/vars). The WAL
# segment open at the restart stays on disk after its records were snapshotted, so the WAL
# files cannot tell.
influxdb_settled() {
    local dir="$SET_DIR/influxdb" shard files
    [[ -z $(find "$dir/data" -name '*.tmp') ]] || return 1
    for shard in "$dir"/data/bench/autogen/[0-9]*/; do
        files=$(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l)
        [[ "$files" == 1 ]] || return 1
    done
    curl -s --max-time 60 "$INFLUXDB_URL/debug/vars" | python3 -c '
import json, sys
stats = json.load(sys.stdin)
cached = [v["values"].get("memBytes", 0) for k, v in stats.items() if k.startswith("tsm1_cache:")
          and v.get("tags", {}).get("database") == "bench"]
sys.exit(0 if cached and not any(cached) else 1)'
}

# Settled: no forced or background merge running and no row waiting to be flushed.
vm_settled() {
    curl -s --max-time 60 "$VM_URL/metrics" | awk '
        /^vm_active_force_merges / || /^vm_active_merges\{/ || /^vm_pending_rows\{/ { busy += $2 }
        END { exit busy > 0 }'
}

wait_until_settled() {
    local deadline=$((SECONDS + SETTLE_TIMEOUT_S)) sluice_done=0 influxdb_done=0 vm_done=0
    log "waiting for the servers to write their caches and compact"
    curl -s --max-time "$SETTLE_TIMEOUT_S" "$VM_URL/internal/force_flush" >/dev/null
    curl -s --max-time "$SETTLE_TIMEOUT_S" "$VM_URL/internal/force_merge" >/dev/null
    while ((SECONDS < deadline)); do
        if ((!sluice_done)) && sluice_settled; then sluice_done=1 && log "sluice settled"; fi
        if ((!influxdb_done)) && influxdb_settled; then influxdb_done=1 && log "influxdb settled"; fi
        if ((!vm_done)) && vm_settled; then vm_done=1 && log "victoria-metrics settled"; fi
        if ((sluice_done && influxdb_done && vm_done)); then return 0; fi
        sleep "$SETTLE_POLL_S"
    done
    die "servers did not settle in ${SETTLE_TIMEOUT_S}s (sluice $sluice_done," \
        "influxdb $influxdb_done, victoria-metrics $vm_done)"
}

# measure SET PHASE: checks and times; the phase's JSON goes to OUT_DIR/query-runs-STAMP/.
measure() {
    local set_name=$1 phase=$2 runs=$RUNS warmup=$WARMUP
    if [[ "$set_name" == 1m ]]; then runs=$MILLION_RUNS warmup=$MILLION_WARMUP; fi
    log "$set_name/$phase: checking and timing (load average $(loadavg))"
    nice -n "$NICE" python3 "$DRIVER" measure --set "$set_name" --phase "$phase" \
        --urls "$SLUICE_URL,$INFLUXDB_URL,$VM_URL" --pids "$SLUICE_PID,$INFLUXDB_PID,$VM_PID" \
        --dirs "$SET_DIR/sluice,$SET_DIR/influxdb,$SET_DIR/vm" --runs "$runs" \
        --warmup "$warmup" --light-runs "$LIGHT_RUNS" --out-dir "$OUT_DIR" \
        --out "$OUT_DIR/query-runs-$STAMP/$set_name-$phase.json"
}

wants_phase() { [[ " $PHASES " == *" $1 "* ]]; }

# run_set SET: fresh servers, the loads, the phases; returns non-zero if an answer differed.
run_set() {
    local set_name=$1 status=0
    SET_DIR="$TMP_ROOT/$set_name"
    start_servers "$FRESH_COLD_DURATION"
    load "$set_name" influxdb "$INFLUXDB_URL"
    load "$set_name" victoria-metrics "$VM_URL"
    load "$set_name" sluice "$SLUICE_URL"
    if wants_phase fresh; then
        sleep "$FRESH_DELAY_S"
        measure "$set_name" fresh || status=1
    fi
    if wants_phase compacted; then
        log "$set_name: restarting all three with ${SETTLE_COLD_DURATION} cold durations"
        stop_all
        start_servers "$SETTLE_COLD_DURATION"
        wait_until_settled
        measure "$set_name" compacted || status=1
    fi
    if [[ "${BENCH_HOLD:-0}" == 1 ]]; then
        log "holding: sluice $SLUICE_PID ($SLUICE_URL), influxd $INFLUXDB_PID ($INFLUXDB_URL)," \
            "victoria-metrics $VM_PID ($VM_URL); stop with Ctrl-C or kill -TERM $$"
        while kill -0 "$SLUICE_PID" 2>/dev/null; do sleep 1; done
    fi
    stop_all
    if [[ "${BENCH_KEEP_TMP:-0}" != 1 ]]; then rm -rf "$SET_DIR"; fi
    return "$status"
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    command -v "$INFLUXD" >/dev/null || die "missing $INFLUXD"
    command -v "$VICTORIA_METRICS" >/dev/null ||
        die "missing $VICTORIA_METRICS (apt-get install -y victoria-metrics)"
    local port set_name status=0
    # A server already on a port would answer in place of ours (Sluice even shares it:
    # SO_REUSEPORT).
    for port in "$SLUICE_PORT" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT" "$VM_PORT"; do
        require_port_free "$port"
    done
    mkdir -p "$OUT_DIR"
    if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --bin sluice --bin sluice-load)
    fi
    [[ -x "$SLUICE_BIN" ]] || die "missing $SLUICE_BIN"
    [[ -x "$LOAD_BIN" ]] || die "missing $LOAD_BIN"
    STAMP=$(date -u +%Y%m%dT%H%M%SZ)
    mkdir -p "$OUT_DIR/query-runs-$STAMP"
    TMP_ROOT=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sluice-query-bench.XXXXXX")
    for set_name in $SETS; do
        run_set "$set_name" || status=1
    done
    local phase_files=() load_files=()
    mapfile -t phase_files < <(for set_name in $SETS; do for phase in $PHASES; do
        echo "$OUT_DIR/query-runs-$STAMP/$set_name-$phase.json"; done; done)
    mapfile -t load_files < <(for set_name in $SETS; do
        for name in influxdb victoria-metrics sluice; do
            echo "$OUT_DIR/query-$set_name-$name-load.json"; done; done)
    python3 "$DRIVER" report --stamp "$STAMP" --out-dir "$OUT_DIR" \
        --command "BENCH_SETS=\"$SETS\" BENCH_PHASES=\"$PHASES\" BENCH_RUNS=$RUNS BENCH_1M_RUNS=$MILLION_RUNS BENCH_NICE=$NICE tools/bench_query.sh" \
        --load-files "${load_files[@]}" -- "${phase_files[@]}" || status=1
    return "$status"
}

# One line, so that editing this file while it runs cannot make bash read on into the edit.
main "$@"; exit $?
