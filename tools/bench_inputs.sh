#!/usr/bin/env bash
# bench_inputs.sh: input throughput, Sluice vs InfluxDB 1.6.7: Graphite over TCP and line protocol
# over UDP, side by side in one run on this machine.
#
# For each server in turn (Sluice first) and each case (graphite-tcp, then udp), starts the server
# on loopback with both inputs enabled, its data in a fresh temp dir (same disk for both), default
# batch settings (batch-size 5000, batch-timeout 1s) and default WAL fsync; drives the input with
# sluice-load (same flags for both servers), then waits until the server has written everything
# it took in, and counts what was stored:
#   InfluxDB: poll SELECT count(*) FROM /.*/ in the input's database until it stops changing
#             (the stored values are the sum of the count_* columns over all measurements)
#   Sluice:   poll /debug/vars until the input's points stop changing and every queued batch is
#             durable, stop it (SIGTERM flushes input batches), count `sluice export` lines/fields
# Reports values sent/s, values stored, values stored/s (stored / load run time: the honest
# figure, since UDP may drop), drop ratio (1 - stored/sent), peak RSS (VmHWM), the kernel's UDP
# receive-buffer drops (/proc/net/snmp RcvbufErrors) and the effective UDP receive buffer (ss).
# Prints a markdown table with Sluice/InfluxDB ratios; writes target/bench/inputs-<UTC>.json
# (+ inputs-latest.json). Exits non-zero if a server failed to start or the load failed.
#
# Settings (environment):
#   BENCH_DURATION=20s BENCH_SERIES=5000 BENCH_FIELDS=10       load shape
#   BENCH_GRAPHITE_CONNECTIONS=4 BENCH_GRAPHITE_BATCH_LINES=5000  rows (x fields lines) per write
#   BENCH_GRAPHITE_RATE=0                 graphite values/s over all connections, 0 = full speed
#   BENCH_UDP_CONNECTIONS=2 BENCH_UDP_BATCH_LINES=1000 BENCH_DATAGRAM_BYTES=1400
#   BENCH_UDP_RATE=0                      udp values/s, 0 = full speed
#   BENCH_READ_BUFFER=8388608             UDP read-buffer for both servers (capped by rmem_max)
#   BENCH_CASES="graphite-tcp udp"        BENCH_SERVERS="sluice influxdb"
#   BENCH_DRAIN_TIMEOUT_S=300             give up waiting for the stored count after this
#   BENCH_SKIP_BUILD=1                    use existing binaries
#   BENCH_TMPDIR=/tmp (BENCH_KEEP_TMP=1)  where the data dirs go
#   SLUICE_BIN, LOAD_BIN                  default target/release/sluice, target/release/sluice-load
#   INFLUXD=influxd
#   Ports (127.0.0.1): Sluice HTTP 19086, graphite 19003, udp 19089; influxd HTTP 19186,
#   RPC 19188, graphite 19103, udp 19189 (SLUICE_HTTP_PORT, SLUICE_GRAPHITE_PORT, ...).
set -euo pipefail

readonly STARTUP_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=120
readonly DRAIN_POLL_PERIOD_S=2
readonly MEASUREMENT=m

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench"
readonly DURATION=${BENCH_DURATION:-20s}
readonly SERIES=${BENCH_SERIES:-5000}
readonly FIELDS=${BENCH_FIELDS:-10}
readonly GRAPHITE_CONNECTIONS=${BENCH_GRAPHITE_CONNECTIONS:-4}
readonly GRAPHITE_BATCH_LINES=${BENCH_GRAPHITE_BATCH_LINES:-5000}
readonly GRAPHITE_RATE=${BENCH_GRAPHITE_RATE:-0}
readonly UDP_CONNECTIONS=${BENCH_UDP_CONNECTIONS:-2}
readonly UDP_BATCH_LINES=${BENCH_UDP_BATCH_LINES:-1000}
readonly UDP_RATE=${BENCH_UDP_RATE:-0}
readonly DATAGRAM_BYTES=${BENCH_DATAGRAM_BYTES:-1400}
readonly READ_BUFFER=${BENCH_READ_BUFFER:-8388608}
readonly CASES=${BENCH_CASES:-graphite-tcp udp}
readonly SERVERS=${BENCH_SERVERS:-sluice influxdb}
readonly DRAIN_TIMEOUT_S=${BENCH_DRAIN_TIMEOUT_S:-300}
readonly SLUICE_HTTP_PORT=${SLUICE_HTTP_PORT:-19086}
readonly SLUICE_GRAPHITE_PORT=${SLUICE_GRAPHITE_PORT:-19003}
readonly SLUICE_UDP_PORT=${SLUICE_UDP_PORT:-19089}
readonly INFLUXDB_HTTP_PORT=${INFLUXDB_HTTP_PORT:-19186}
readonly INFLUXDB_RPC_PORT=${INFLUXDB_RPC_PORT:-19188}
readonly INFLUXDB_GRAPHITE_PORT=${INFLUXDB_GRAPHITE_PORT:-19103}
readonly INFLUXDB_UDP_PORT=${INFLUXDB_UDP_PORT:-19189}
readonly INFLUXD=${INFLUXD:-influxd}
readonly SLUICE_BIN=${SLUICE_BIN:-$ROOT/target/release/sluice}
readonly LOAD_BIN=${LOAD_BIN:-$ROOT/target/release/sluice-load}

SERVER_PID=""
TMP_ROOT=""

# log, die, status_kb, stop_server, wait_for_ping: tools/bench_lib.sh (sourced below).
BENCH_LOG_PREFIX=bench

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



# wait_for_port PROTO PORT: until a socket listens on 127.0.0.1:PORT (ss), or the timeout.
wait_for_port() {
    local proto=$1 port=$2 deadline=$((SECONDS + STARTUP_TIMEOUT_S)) flag=-tln
    if [[ "$proto" == udp ]]; then flag=-uln; fi
    while ((SECONDS < deadline)); do
        if ss -H "$flag" "sport = :$port" | grep -q .; then return 0; fi
        sleep 0.1
    done
    return 1
}

udp_rcvbuf_errors() { awk '$1 == "Udp:" && $2 ~ /^[0-9]/ {print $6}' /proc/net/snmp; }
# effective_rcvbuf PORT: the rb of the first UDP socket bound to PORT (what SO_RCVBUF became).
effective_rcvbuf() {
    ss -H -uamn "sport = :$1" | grep -o 'rb[0-9]*' | head -1 | tr -d rb
}

# run_load NAME CASE ADDRESS: the same load for every server; JSON in OUT_DIR/NAME-CASE-load.json.
run_load() {
    local name=$1 case=$2 address=$3 args
    case "$case" in
        graphite-tcp)
            args=(--connections "$GRAPHITE_CONNECTIONS" --batch-lines "$GRAPHITE_BATCH_LINES"
                --rate $((GRAPHITE_RATE / FIELDS)))
            ;;
        udp)
            args=(--connections "$UDP_CONNECTIONS" --batch-lines "$UDP_BATCH_LINES"
                --rate $((UDP_RATE / FIELDS)) --datagram-bytes "$DATAGRAM_BYTES")
            ;;
    esac
    log "$name/$case: sluice-load for $DURATION"
    "$LOAD_BIN" --protocol "$case" --address "$address" --measurement "$MEASUREMENT" \
        --series "$SERIES" --fields "$FIELDS" --duration "$DURATION" --timestamps explicit \
        --interval 10s "${args[@]}" --allow-errors --json "$OUT_DIR/$name-$case-load.json" \
        | sed "s/^/[$name\/$case] /"
}

# influx_count URL DB: the sum of every count_* column of SELECT count(*) FROM /.*/.
influx_count() {
    curl -s -G --max-time 600 "$1/query" --data-urlencode "db=$2" \
        --data-urlencode 'q=SELECT count(*) FROM /.*/' | python3 -c '
import json, sys
result = json.load(sys.stdin)["results"][0]
if "error" in result:
    # No batch has arrived yet ("database not found") or the query failed: keep polling.
    print(-1)
    sys.exit(0)
total = 0
for series in result.get("series", []):
    for row in series.get("values", []):
        total += sum(v for c, v in zip(series["columns"], row) if c.startswith("count_") and v)
print(total)
'
}

# sluice_input_state URL INPUT: "points durable_gap" of one input from /debug/vars.
sluice_input_state() {
    curl -s --max-time 10 "$1/debug/vars" | python3 -c '
import json, sys
name = sys.argv[1]
for i in json.load(sys.stdin)["sluice"].get("inputs", []):
    if i.get("input") == name:
        gap = i["batches"] - i["batchesDurable"] - i.get("batchesFailed", 0)
        print(i["points"], gap)
        break
else:
    print("0 0")
' "$2"
}

# drain WHAT: repeats the probe command WHAT until two results DRAIN_POLL_PERIOD_S apart match
# (and, for Sluice, no batch is still on its way to the WAL); prints the last result.
drain() {
    local previous="" current deadline=$((SECONDS + DRAIN_TIMEOUT_S))
    while ((SECONDS < deadline)); do
        current=$("$@") || return 1
        # For "points gap" pairs the gap must be 0 too; a single count has no gap.
        if [[ "$current" == "$previous" && ("$current" != *" "* || "$current" == *" 0") ]]; then
            echo "$current"
            return 0
        fi
        previous=$current
        sleep "$DRAIN_POLL_PERIOD_S"
    done
    log "drain: still changing after ${DRAIN_TIMEOUT_S}s"
    echo "$current"
}

# write_server_result NAME CASE PEAK_KB STORED_VALUES DRAIN_S RCVBUF_ERRORS RCVBUF_BYTES VARS
write_server_result() {
    cat >"$OUT_DIR/$1-$2-server.json" <<EOF
{"vm_hwm_kb": ${3:-0}, "stored_values": ${4:-0}, "drain_s": ${5:-0},
 "kernel_udp_rcvbuf_errors": ${6:-0}, "udp_rcvbuf_effective_bytes": ${7:-0},
 "debug_vars": ${8:-null}}
EOF
}

start_sluice() {
    local dir=$1 log_file=$2
    SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_META_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_HTTP_PORT" SLUICE_DATA_DIR="$dir/data" \
        SLUICE_META_DIR="$dir/meta" SLUICE_DATA_WAL_DIR="$dir/wal" \
        SLUICE_GRAPHITE_0_ENABLED=true \
        SLUICE_GRAPHITE_0_BIND_ADDRESS="127.0.0.1:$SLUICE_GRAPHITE_PORT" \
        SLUICE_UDP_0_ENABLED=true SLUICE_UDP_0_BIND_ADDRESS="127.0.0.1:$SLUICE_UDP_PORT" \
        SLUICE_UDP_0_READ_BUFFER="$READ_BUFFER" \
        "$SLUICE_BIN" run >"$log_file" 2>&1 &
    SERVER_PID=$!
}

start_influxdb() {
    local dir=$1 log_file=$2
    write_influxdb_conf "$dir/influxdb.conf" "$dir" "$INFLUXDB_HTTP_PORT" "$INFLUXDB_RPC_PORT" "" \
        "[[graphite]]
  enabled = true
  bind-address = \"127.0.0.1:$INFLUXDB_GRAPHITE_PORT\"
  database = \"graphite\"
  protocol = \"tcp\"
[[udp]]
  enabled = true
  bind-address = \"127.0.0.1:$INFLUXDB_UDP_PORT\"
  database = \"udp\"
  read-buffer = $READ_BUFFER"
    "$INFLUXD" -config "$dir/influxdb.conf" >"$log_file" 2>&1 &
    SERVER_PID=$!
}

# bench NAME CASE: one fresh server, one load, drain, count.
bench() {
    local name=$1 case=$2 dir="$TMP_ROOT/$1-$2" log_file="$OUT_DIR/$1-$2.log"
    local url port db address input rcvbuf errors_before errors_after peak_kb stored drain_start
    local vars
    mkdir -p "$dir"
    case "$name" in
        sluice)
            url="http://127.0.0.1:$SLUICE_HTTP_PORT"
            start_sluice "$dir" "$log_file"
            ;;
        influxdb)
            url="http://127.0.0.1:$INFLUXDB_HTTP_PORT"
            start_influxdb "$dir" "$log_file"
            ;;
    esac
    case "$name/$case" in
        sluice/graphite-tcp) port=$SLUICE_GRAPHITE_PORT ;;
        sluice/udp) port=$SLUICE_UDP_PORT ;;
        influxdb/graphite-tcp) port=$INFLUXDB_GRAPHITE_PORT ;;
        influxdb/udp) port=$INFLUXDB_UDP_PORT ;;
    esac
    db=${case%-tcp}
    input=$db
    address="127.0.0.1:$port"
    log "$name/$case: starting, data in $dir"
    wait_for_ping "$url" "$SERVER_PID" || die "$name did not answer /ping (see $log_file)"
    wait_for_port "${case#graphite-}" "$port" || die "$name: nothing listens on $address"
    rcvbuf=0
    if [[ "$case" == udp ]]; then rcvbuf=$(effective_rcvbuf "$port"); fi
    errors_before=$(udp_rcvbuf_errors)
    run_load "$name" "$case" "$address"
    log "$name/$case: waiting for the stored count to settle"
    drain_start=$SECONDS
    case "$name" in
        sluice)
            drain sluice_input_state "$url" "$input" >/dev/null
            vars=$(curl -s --max-time 10 "$url/debug/vars" || echo null)
            ;;
        influxdb)
            # The input creates its database with its first batch; until then count fails.
            stored=$(drain influx_count "$url" "$db") || stored=-1
            vars=$(curl -s --max-time 10 "$url/debug/vars" | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(json.dumps({k: v for k, v in d.items() if k.startswith(("graphite", "udp"))}))
' || echo null)
            ;;
    esac
    errors_after=$(udp_rcvbuf_errors)
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    log "$name/$case: stopping"
    stop_server "$SERVER_PID"
    if [[ "$name" == sluice ]]; then
        stored=$("$SLUICE_BIN" export -datadir "$dir/data" -db "$db" \
            2>"$OUT_DIR/$name-$case-export.err" | awk '
                /^#/ || /^CREATE / || NF < 2 { next }
                { values += split($2, parts, ",") } END { print values + 0 }') ||
            die "sluice export failed (see $OUT_DIR/$name-$case-export.err)"
    fi
    log "$name/$case: stored $stored values (settled after $((SECONDS - drain_start)) s)"
    write_server_result "$name" "$case" "$peak_kb" "$stored" "$((SECONDS - drain_start))" \
        "$((errors_after - errors_before))" "${rcvbuf:-0}" "$vars"
    if [[ "${BENCH_KEEP_TMP:-0}" != 1 ]]; then rm -rf "$dir"; fi
}

# Combines the per-run JSON files, prints the table, writes the results JSON.
report() {
    local stamp load_average
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    load_average=$(cut -d' ' -f1-3 /proc/loadavg)
    python3 - "$OUT_DIR" "$stamp" "$SERVERS" "$CASES" "$load_average" \
        "$(cat /proc/sys/net/core/rmem_max)" "$READ_BUFFER" <<'EOF'
import json, os, sys
out_dir, stamp, servers, cases, load_average, rmem_max, read_buffer = sys.argv[1:8]
servers, cases = servers.split(), cases.split()
results, ok = {}, True
for case in cases:
    for name in servers:
        load = json.load(open(os.path.join(out_dir, f"{name}-{case}-load.json")))
        server = json.load(open(os.path.join(out_dir, f"{name}-{case}-server.json")))
        sent, stored = load["values_sent"], server["stored_values"]
        run_s = load["elapsed_s"]
        ok = ok and load["writes_failed"] == 0 and sent > 0
        results[f"{name}/{case}"] = {
            "load": load, "server": server,
            "values_sent_per_s": load["values_per_s"],
            "values_stored": stored,
            "values_stored_per_s": stored / run_s if run_s else 0.0,
            "drop_ratio": 1 - stored / sent if sent else None,
        }
def num(v, digits=0):
    return "n/a" if v is None else f"{v:,.{digits}f}"
def ratio(a, b):
    return round(a / b, 3) if a is not None and b else None
print(f"load average at the end: {load_average}; rmem_max {rmem_max}, "
      f"UDP read-buffer asked {read_buffer}\n")
print("| case | server | values sent/s | values stored | values stored/s | drop ratio "
      "| peak RSS MiB | kernel UDP rcvbuf drops | effective rcvbuf | send errors |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
ratios = {}
for case in cases:
    for name in servers:
        r = results[f"{name}/{case}"]
        load, server = r["load"], r["server"]
        errors = ", ".join(f"{k}: {v}" for k, v in load["errors"].items()) or "none"
        rcvbuf = server["udp_rcvbuf_effective_bytes"] if case == "udp" else None
        drops = server["kernel_udp_rcvbuf_errors"] if case == "udp" else None
        print(f"| {case} | {name} | {num(r['values_sent_per_s'])} | {num(r['values_stored'])} "
              f"| {num(r['values_stored_per_s'])} | {num(r['drop_ratio'], 4)} "
              f"| {num(server['vm_hwm_kb'] / 1024)} | {num(drops)} | {num(rcvbuf)} | {errors} |")
    if "sluice" in servers and "influxdb" in servers:
        s, i = results[f"sluice/{case}"], results[f"influxdb/{case}"]
        ratios[case] = {
            "values_sent_per_s": ratio(s["values_sent_per_s"], i["values_sent_per_s"]),
            "values_stored_per_s": ratio(s["values_stored_per_s"], i["values_stored_per_s"]),
            "peak_rss": ratio(s["server"]["vm_hwm_kb"], i["server"]["vm_hwm_kb"]),
        }
        x = lambda v: "n/a" if v is None else f"{v:.2f}x"
        c = ratios[case]
        print(f"| {case} | Sluice / InfluxDB | {x(c['values_sent_per_s'])} | "
              f"| {x(c['values_stored_per_s'])} | | {x(c['peak_rss'])} | | | |")
summary = {"time_utc": stamp, "load_average_end": load_average, "rmem_max": int(rmem_max),
           "read_buffer_requested": int(read_buffer), "results": results,
           "ratios_sluice_over_influxdb": ratios, "ok": ok}
text = json.dumps(summary, indent=2)
for path in (f"inputs-{stamp}.json", "inputs-latest.json"):
    with open(os.path.join(out_dir, path), "w") as f:
        f.write(text + "\n")
print(f"\nresults: {os.path.join(out_dir, f'inputs-{stamp}.json')}")
sys.exit(0 if ok else 1)
EOF
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    command -v ss >/dev/null || die "ss (iproute2) is needed"
    mkdir -p "$OUT_DIR"
    if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --bin sluice --bin sluice-load)
    fi
    [[ -x "$LOAD_BIN" ]] || die "missing $LOAD_BIN"
    log "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
    TMP_ROOT=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sluice-inputs.XXXXXX")
    for server in $SERVERS; do
        case "$server" in
            sluice) [[ -x "$SLUICE_BIN" ]] || die "missing $SLUICE_BIN" ;;
            influxdb) command -v "$INFLUXD" >/dev/null || die "missing $INFLUXD" ;;
            *) die "unknown server $server (expected sluice or influxdb)" ;;
        esac
        for case in $CASES; do
            case "$case" in
                graphite-tcp | udp) ;;
                *) die "unknown case $case (expected graphite-tcp or udp)" ;;
            esac
            rm -f "$OUT_DIR/$server-$case-load.json" "$OUT_DIR/$server-$case-server.json"
            bench "$server" "$case"
        done
    done
    report
}

main "$@"
