#!/usr/bin/env bash
# bench_storage.sh: storage side by side — Sluice, InfluxDB 1.6.7 and VictoriaMetrics — on this
# machine: bytes on disk per value after full compaction, values read back bit-exact, peak RSS
# during the load, start-up time on the loaded data, and start-up with 1M series.
#
# Data sets (sluice-load --dataset, reproducible from the flags): 100 hosts x 10 float fields,
# random walks, one point per 10 s, for each case of BENCH_CASES ("SPAN:DECIMALS", DECIMALS a
# number or "full"). For each case and server in turn, with a fresh data directory under one
# temp dir:
#   1. start the server on loopback, load the data set (4 connections, 5,000 lines a request);
#   2. wait for full compaction (Sluice: one .tsm per shard and the WAL settled; InfluxDB:
#      one .tsm per shard, no .tmp, files unchanged for SETTLE_STABLE_S; VictoriaMetrics:
#      /internal/force_flush + /internal/force_merge, files unchanged for SETTLE_STABLE_S);
#   3. read VmHWM (peak RSS of load + compaction), stop, sum the allocated bytes of the files
#      by part: data files, index, WAL (the total), other (meta, locks, saved caches);
#   4. start again: start-up time = process start to the first /ping 204 (polled every
#      PING_POLL_S), RSS right after;
#   5. read every value back and compare it bit by bit with the data set (sluice-load --verify):
#      Sluice `sluice export` (server stopped), VictoriaMetrics /api/v1/export/csv, InfluxDB
#      `influx_inspect export` when BENCH_VERIFY_INFLUXDB=1.
# Then 1M series (`m,host=hNNNNNNN,region=rX v=1 <t>`) into Sluice and InfluxDB: load, settle,
# restart, start-up time and RSS after start-up.
# Prints markdown tables; writes target/bench/storage-<UTC time>.json (+ storage-latest.json).
#
# Settings (environment):
#   BENCH_CASES="24h:2 24h:full 168h:2 168h:full"   data sets
#   BENCH_SERVERS="sluice influxdb victoria-metrics" servers, in order
#   BENCH_SERIES_SERVERS="sluice influxdb"           servers for the 1M-series case ("" skips)
#   BENCH_SERIES_COUNT=1000000                       series of that case
#   BENCH_SERIES_LOAD_TIMEOUT_S=300                  give up a server's 1M-series load after
#   BENCH_VERIFY_INFLUXDB=0                          also read InfluxDB back (slow)
#   BENCH_SKIP_BUILD=1                               use the existing target/release binaries
#   BENCH_TMPDIR=/tmp  BENCH_KEEP_TMP=1              where data dirs go / keep them
#   SLUICE_PORT=18697 INFLUXDB_PORT=18797 VM_PORT=18897   HTTP ports on 127.0.0.1
#   INFLUXD=influxd INFLUX_INSPECT=influx_inspect VICTORIA_METRICS=victoria-metrics
set -euo pipefail

readonly STARTUP_TIMEOUT_S=300
readonly STOP_TIMEOUT_S=120
readonly SETTLE_TIMEOUT_S=600
readonly SETTLE_STABLE_S=15
readonly SETTLE_POLL_S=1
readonly PING_POLL_S=0.01
readonly COLD_DURATION=5s
readonly HOSTS=100
readonly FIELDS=10
readonly INTERVAL=10s
readonly BATCH_LINES=5000
readonly CONNECTIONS=4
readonly SERIES_BATCH_LINES=10000
readonly MEASUREMENT=m
readonly DB=bench
# 2023-11-14T22:13:20Z: a fixed start keeps every run's data identical.
readonly START_NS=1700000000000000000

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench/storage"
readonly CASES=${BENCH_CASES:-24h:2 24h:full 168h:2 168h:full}
readonly SERVERS=${BENCH_SERVERS:-sluice influxdb victoria-metrics}
readonly SERIES_SERVERS=${BENCH_SERIES_SERVERS-sluice influxdb}
readonly SERIES_COUNT=${BENCH_SERIES_COUNT:-1000000}
readonly SERIES_LOAD_TIMEOUT_S=${BENCH_SERIES_LOAD_TIMEOUT_S:-300}
readonly SLUICE_PORT=${SLUICE_PORT:-18697}
readonly INFLUXDB_PORT=${INFLUXDB_PORT:-18797}
readonly INFLUXDB_RPC_PORT=$((INFLUXDB_PORT + 1))
readonly VM_PORT=${VM_PORT:-18897}
readonly INFLUXD=${INFLUXD:-influxd}
readonly INFLUX_INSPECT=${INFLUX_INSPECT:-influx_inspect}
readonly VICTORIA_METRICS=${VICTORIA_METRICS:-victoria-metrics}
readonly SLUICE_BIN="$ROOT/target/release/sluice"
readonly LOAD_BIN="$ROOT/target/release/sluice-load"

SERVER_PID=""
TMP_ROOT=""
# Set by start_server: nanoseconds from process start to the first /ping 204.
STARTUP_NS=0

# log, die, status_kb, stop_server, wait_for_ping: tools/bench_lib.sh (sourced below).
BENCH_LOG_PREFIX=bench-storage

cleanup() {
    local status=$?
    if [[ -n "$SERVER_PID" ]]; then stop_server "$SERVER_PID" || true; fi
    remove_tmp_root "${BENCH_KEEP_TMP:-0}"
    exit "$status"
}
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

port_of() {
    case "$1" in
        sluice) echo "$SLUICE_PORT" ;;
        influxdb) echo "$INFLUXDB_PORT" ;;
        victoria-metrics) echo "$VM_PORT" ;;
    esac
}

write_influxdb_config() {
    local dir=$1
    # Same durability as Sluice: fsync the WAL before every 204. Series limits off so the
    # 1M-series case is not refused (the defaults are 1M series, 100k values per tag).
    write_influxdb_conf "$dir/influxdb.conf" "$dir" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT" \
        "  cache-snapshot-write-cold-duration = \"$COLD_DURATION\"
  compact-full-write-cold-duration = \"$COLD_DURATION\"
  max-series-per-database = 0
  max-values-per-tag = 0"
}

# start_server NAME DIR LOG: starts NAME on its data in DIR; sets SERVER_PID and STARTUP_NS.
start_server() {
    local name=$1 dir=$2 logfile=$3 url started code deadline
    url="http://127.0.0.1:$(port_of "$name")"
    started=$(date +%s%N)
    case "$name" in
        sluice)
            SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_META_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_PORT" SLUICE_DATA_DIR="$dir/data" \
                SLUICE_META_DIR="$dir/meta" SLUICE_DATA_WAL_DIR="$dir/wal" \
                SLUICE_DATA_WAL_FSYNC_DELAY=0s \
                SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION="$COLD_DURATION" \
                "$SLUICE_BIN" run >>"$logfile" 2>&1 &
            ;;
        influxdb)
            "$INFLUXD" -config "$dir/influxdb.conf" >>"$logfile" 2>&1 &
            ;;
        victoria-metrics)
            "$VICTORIA_METRICS" -storageDataPath="$dir/vm" -httpListenAddr="127.0.0.1:$VM_PORT" \
                -retentionPeriod=100y -search.disableCache >>"$logfile" 2>&1 &
            ;;
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

# files_fingerprint DIR: every file's path and size, for "nothing changes any more".
files_fingerprint() { find "$1" -type f -printf '%P %s\n' 2>/dev/null | sort; }

# compacted NAME DIR: whether NAME's files look fully compacted.
compacted() {
    local name=$1 dir=$2 shard
    case "$name" in
        sluice)
            # Every shard directory holds exactly one file: the cold full compaction's -l4.tsm,
            # or a single snapshot (-l0.tsm), which a full compaction would leave as it is.
            for shard in "$dir"/data/*/; do
                [[ "$(basename "$shard")" == _* ]] && continue
                [[ $(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l) == 1 ]] || return 1
            done
            ;;
        influxdb)
            [[ -z "$(find "$dir/data" -name '*.tmp' -print -quit)" ]] || return 1
            for shard in "$dir"/data/"$DB"/*/*/; do
                [[ -d "$shard" ]] || continue
                [[ $(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l) -le 1 ]] || return 1
            done
            ;;
    esac
    return 0
}

# settle NAME DIR: waits until compaction is over; prints the seconds it took.
settle() {
    local name=$1 dir=$2 url started previous="" current stable_since=$SECONDS
    url="http://127.0.0.1:$(port_of "$name")"
    started=$SECONDS
    if [[ "$name" == victoria-metrics ]]; then
        curl -s --max-time 600 "$url/internal/force_flush" >/dev/null || true
        curl -s --max-time 600 "$url/internal/force_merge" >/dev/null || true
    fi
    while ((SECONDS - started < SETTLE_TIMEOUT_S)); do
        current=$(files_fingerprint "$dir")
        if [[ "$current" != "$previous" ]] || ! compacted "$name" "$dir"; then
            previous=$current
            stable_since=$SECONDS
        elif ((SECONDS - stable_since >= SETTLE_STABLE_S)); then
            echo $((stable_since - started))
            return 0
        fi
        sleep "$SETTLE_POLL_S"
    done
    log "$name: files still changing after ${SETTLE_TIMEOUT_S}s; measuring anyway"
    echo -1
}

# disk_json NAME DIR: bytes by part, as JSON.
disk_json() {
    python3 - "$1" "$2" <<'EOF'
import json, os, sys
name, root = sys.argv[1], sys.argv[2]
# Allocated bytes (st_blocks x 512, what du counts): InfluxDB preallocates its series file
# segments sparsely, so their apparent size is far above what they occupy.
parts = {"data": 0, "index": 0, "wal": 0, "other": 0}
apparent = dict(parts)
files = 0
for directory, _, names in os.walk(root):
    for file_name in names:
        path = os.path.join(directory, file_name)
        rel = os.path.relpath(path, root)
        status = os.stat(path)
        size = status.st_blocks * 512
        files += 1
        top = rel.split(os.sep)
        if file_name.endswith((".conf", ".log")):
            continue
        if name == "victoria-metrics":
            # vm/data: samples (parts: timestamps, values, index of the blocks);
            # vm/indexdb: series names to ids, per-day inverted index.
            part = {"data": "data", "indexdb": "index"}.get(top[1] if len(top) > 1 else "", "other")
        elif top[0] == "wal":
            part = "wal"
        elif top[0] == "data":
            if "_series" in top or "index" in top or file_name in ("fields.idx",):
                part = "index"
            elif file_name.endswith((".tsm", ".tombstone", ".tsl")):
                part = "data"
            else:
                part = "other"
        else:
            part = "other"
        parts[part] += size
        apparent[part] += status.st_size
# "other" (meta store, locks, VictoriaMetrics' caches saved at shutdown) is not in the total.
parts["total"] = parts["data"] + parts["index"] + parts["wal"]
apparent["total"] = apparent["data"] + apparent["index"] + apparent["wal"]
parts["apparent"] = apparent
parts["files"] = files
print(json.dumps(parts))
EOF
}

# verify NAME DIR SPAN DECIMALS OUT: reads NAME's data back and checks every value.
verify_values() {
    local name=$1 dir=$2 span=$3 decimals=$4 out=$5
    local check=("$LOAD_BIN" --dataset hosts --series "$HOSTS" --fields "$FIELDS" --span "$span"
        --interval "$INTERVAL" --decimals "$decimals" --start-ns "$START_NS"
        --measurement "$MEASUREMENT" --allow-errors --json "$out" --verify -)
    case "$name" in
        sluice)
            "$SLUICE_BIN" export -datadir "$dir/data" 2>"$dir/export.err" | "${check[@]}"
            ;;
        influxdb)
            "$INFLUX_INSPECT" export -datadir "$dir/data" -waldir "$dir/wal" -database "$DB" \
                -out /dev/stdout 2>"$dir/export.err" | "${check[@]}"
            ;;
        victoria-metrics)
            curl -s --max-time 1200 "http://127.0.0.1:$VM_PORT/api/v1/export/csv" \
                --data-urlencode 'format=__name__,host,__value__,__timestamp__:unix_ns' \
                --data-urlencode "match[]={__name__=~\"${MEASUREMENT}_.*\"}" \
                --data-urlencode "start=0" | "${check[@]}" --verify-format vm-csv
            ;;
    esac
}

# bench_case NAME SPAN DECIMALS: one server, one data set; writes OUT_DIR/<case>-<name>.json.
bench_case() {
    local name=$1 span=$2 decimals=$3 tag="$2-$3-$1" dir url peak_kb settle_s disk
    dir="$TMP_ROOT/$tag"
    url="http://127.0.0.1:$(port_of "$name")"
    mkdir -p "$dir"
    if [[ "$name" == influxdb ]]; then write_influxdb_config "$dir"; fi
    log "$tag: start"
    start_server "$name" "$dir" "$OUT_DIR/$tag.log"
    log "$tag: load $HOSTS hosts x $FIELDS fields for $span, decimals $decimals"
    "$LOAD_BIN" --url "$url" --db "$DB" --create-db --dataset hosts --series "$HOSTS" \
        --fields "$FIELDS" --span "$span" --interval "$INTERVAL" --decimals "$decimals" \
        --start-ns "$START_NS" --measurement "$MEASUREMENT" --batch-lines "$BATCH_LINES" \
        --connections "$CONNECTIONS" --allow-errors --json "$OUT_DIR/$tag-load.json" |
        sed "s/^/[$tag] /" >&2
    log "$tag: waiting for compaction"
    settle_s=$(settle "$name" "$dir")
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    stop_server "$SERVER_PID"
    disk=$(disk_json "$name" "$dir")
    log "$tag: settled in ${settle_s}s, disk $disk"
    start_server "$name" "$dir" "$OUT_DIR/$tag.log"
    local startup_ns=$STARTUP_NS rss_kb
    rss_kb=$(status_kb "$SERVER_PID" VmRSS)
    log "$tag: restarted in $((startup_ns / 1000000)) ms, RSS $((rss_kb / 1024)) MiB"
    local verify_json="$OUT_DIR/$tag-verify.json"
    rm -f "$verify_json"
    if [[ "$name" != victoria-metrics ]]; then stop_server "$SERVER_PID"; fi
    if [[ "$name" != influxdb || "${BENCH_VERIFY_INFLUXDB:-0}" == 1 ]]; then
        log "$tag: reading every value back"
        verify_values "$name" "$dir" "$span" "$decimals" "$verify_json" | sed "s/^/[$tag] /" >&2
    fi
    if [[ -n "$SERVER_PID" ]]; then stop_server "$SERVER_PID"; fi
    cat >"$OUT_DIR/$tag.json" <<EOF
{"server": "$name", "span": "$span", "decimals": "$decimals", "settle_s": $settle_s,
 "peak_rss_kb": ${peak_kb:-0}, "disk": $disk, "startup_ns": $startup_ns,
 "rss_after_startup_kb": ${rss_kb:-0},
 "load": $(cat "$OUT_DIR/$tag-load.json"),
 "verify": $(if [[ -s "$verify_json" ]]; then cat "$verify_json"; else echo null; fi)}
EOF
    rm -rf "$dir"
}

# bench_series NAME: load SERIES_COUNT series, settle, restart; OUT_DIR/series-<name>.json.
bench_series() {
    local name=$1 tag="series-$1" dir url peak_kb settle_s=-1 disk="null" loaded=true
    dir="$TMP_ROOT/$tag"
    url="http://127.0.0.1:$(port_of "$name")"
    mkdir -p "$dir"
    if [[ "$name" == influxdb ]]; then write_influxdb_config "$dir"; fi
    start_server "$name" "$dir" "$OUT_DIR/$tag.log"
    log "$tag: load $SERIES_COUNT series (give up after ${SERIES_LOAD_TIMEOUT_S}s)"
    if ! timeout "$SERIES_LOAD_TIMEOUT_S" "$LOAD_BIN" --url "$url" --db "$DB" --create-db \
        --dataset series --series "$SERIES_COUNT" --start-ns "$START_NS" \
        --measurement "$MEASUREMENT" --batch-lines "$SERIES_BATCH_LINES" \
        --connections "$CONNECTIONS" --allow-errors --json "$OUT_DIR/$tag-load.json" |
        sed "s/^/[$tag] /" >&2; then
        loaded=false
        log "$tag: load did not finish in ${SERIES_LOAD_TIMEOUT_S}s"
        echo '{"timed_out": true}' >"$OUT_DIR/$tag-load.json"
    fi
    if [[ "$loaded" == true ]]; then settle_s=$(settle "$name" "$dir"); fi
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    stop_server "$SERVER_PID"
    disk=$(disk_json "$name" "$dir")
    start_server "$name" "$dir" "$OUT_DIR/$tag.log"
    local startup_ns=$STARTUP_NS rss_kb
    rss_kb=$(status_kb "$SERVER_PID" VmRSS)
    log "$tag: restarted in $((startup_ns / 1000000)) ms, RSS $((rss_kb / 1024)) MiB"
    stop_server "$SERVER_PID"
    cat >"$OUT_DIR/$tag.json" <<EOF
{"server": "$name", "series": $SERIES_COUNT, "loaded": $loaded, "settle_s": $settle_s,
 "peak_rss_kb": ${peak_kb:-0}, "disk": $disk, "startup_ns": $startup_ns,
 "rss_after_startup_kb": ${rss_kb:-0}, "load": $(cat "$OUT_DIR/$tag-load.json")}
EOF
    rm -rf "$dir"
}

report() {
    local stamp
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    python3 "$ROOT/tools/bench_storage_report.py" "$OUT_DIR" "$stamp" "$CASES" "$SERVERS" \
        "$SERIES_SERVERS"
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    for server in $SERVERS $SERIES_SERVERS; do
        case "$server" in
            influxdb) command -v "$INFLUXD" >/dev/null || die "$INFLUXD not found" ;;
            victoria-metrics) command -v "$VICTORIA_METRICS" >/dev/null ||
                die "$VICTORIA_METRICS not found (apt-get install -y victoria-metrics)" ;;
        esac
    done
    # A server already on a port would answer in place of ours (Sluice even shares it:
    # SO_REUSEPORT).
    local port
    for port in "$SLUICE_PORT" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT" "$VM_PORT"; do
        require_port_free "$port"
    done
    rm -rf "$OUT_DIR"
    mkdir -p "$OUT_DIR"
    if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --bin sluice --bin sluice-load)
    fi
    [[ -x "$SLUICE_BIN" && -x "$LOAD_BIN" ]] || die "missing release binaries"
    TMP_ROOT=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sluice-bench-storage.XXXXXX")
    local case_spec
    for case_spec in $CASES; do
        for server in $SERVERS; do
            bench_case "$server" "${case_spec%%:*}" "${case_spec##*:}"
        done
    done
    for server in $SERIES_SERVERS; do
        bench_series "$server"
    done
    report
}

main "$@"
