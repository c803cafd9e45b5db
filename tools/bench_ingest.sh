#!/usr/bin/env bash
# bench_ingest.sh: side-by-side ingest benchmark, Sluice vs InfluxDB 1.6.7, on this machine.
#
# Builds release, then for each server in turn: starts it on loopback with its data in a fresh
# temp dir (same disk for both), waits for /ping, creates the database and drives it with
# sluice-load (same flags for both), samples its RSS every 200 ms, reads VmHWM (peak RSS) at the
# end, and verifies that every accepted point was stored:
#   InfluxDB: SELECT count(*) FROM m   (count_f0 == lines accepted, sum of counts == values)
#   Sluice:   stop it, then `sluice export -datadir DIR` and count the lines/fields printed
# Prints a markdown table and writes target/bench/ingest-<UTC time>.json (+ ingest-latest.json).
# Exits non-zero if a server failed to start, a request failed, or stored != accepted.
#
# Settings (environment):
#   BENCH_DURATION=20s BENCH_SERIES=5000 BENCH_FIELDS=10 BENCH_BATCH_LINES=5000
#   BENCH_CONNECTIONS=4 BENCH_INTERVAL=10s   load shape (sluice-load flags)
#   BENCH_SERVERS="sluice influxdb"          which servers, in order
#   BENCH_SKIP_BUILD=1                       use the existing target/release binaries
#   BENCH_AUTH=1                             Sluice with [http] auth-enabled: an admin user is
#                                            created first and every write carries u/p
#   BENCH_HTTPS=1                            Sluice over HTTPS ([http] https-enabled) with a
#                                            self-signed certificate made by openssl; sluice-load
#                                            speaks TLS (rustls, no certificate verification)
#   BENCH_TMPDIR=/tmp                        where the data dirs go (kept with BENCH_KEEP_TMP=1)
#   SLUICE_PORT=18687 INFLUXDB_PORT=18787    HTTP ports on 127.0.0.1
#   SLUICE_EXPORT_ARGS="-datadir DIR ..."    override the export arguments (DIR = data dir)
#   INFLUXD=influxd                          the InfluxDB binary
set -euo pipefail

readonly STARTUP_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=60
readonly RSS_SAMPLE_PERIOD_S=0.2
readonly MEASUREMENT=m

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench"
readonly DURATION=${BENCH_DURATION:-20s}
readonly SERIES=${BENCH_SERIES:-5000}
readonly FIELDS=${BENCH_FIELDS:-10}
readonly BATCH_LINES=${BENCH_BATCH_LINES:-5000}
readonly CONNECTIONS=${BENCH_CONNECTIONS:-4}
readonly INTERVAL=${BENCH_INTERVAL:-10s}
readonly SERVERS=${BENCH_SERVERS:-sluice influxdb}
readonly SLUICE_PORT=${SLUICE_PORT:-18687}
readonly INFLUXDB_PORT=${INFLUXDB_PORT:-18787}
readonly INFLUXDB_RPC_PORT=$((INFLUXDB_PORT + 1))
readonly INFLUXD=${INFLUXD:-influxd}
readonly SLUICE_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/sluice"
readonly LOAD_BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/sluice-load"

SERVER_PID=""
SAMPLER_PID=""
TMP_ROOT=""

# log, die, status_kb, stop_server, wait_for_ping: tools/bench_lib.sh (sourced below).
BENCH_LOG_PREFIX=bench

cleanup() {
    local status=$?
    if [[ -n "$SAMPLER_PID" ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
    if [[ -n "$SERVER_PID" ]]; then stop_server "$SERVER_PID" || true; fi
    remove_tmp_root "${BENCH_KEEP_TMP:-0}"
    exit "$status"
}
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM



# start_rss_sampler PID FILE: appends VmRSS (kB) of PID to FILE every RSS_SAMPLE_PERIOD_S.
start_rss_sampler() {
    local pid=$1 file=$2
    : >"$file"
    (
        while [[ -r /proc/$pid/status ]]; do
            awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" >>"$file" 2>/dev/null || true
            sleep "$RSS_SAMPLE_PERIOD_S"
        done
    ) &
    SAMPLER_PID=$!
}

stop_rss_sampler() {
    if [[ -n "$SAMPLER_PID" ]]; then
        kill "$SAMPLER_PID" 2>/dev/null || true
        wait "$SAMPLER_PID" 2>/dev/null || true
        SAMPLER_PID=""
    fi
}

max_of_file() { sort -n "$1" | tail -1; }

# run_load NAME URL: the same load for every server; summary JSON in OUT_DIR/NAME-load.json.
run_load() {
    local name=$1 url=$2
    log "$name: sluice-load for $DURATION"
    local auth_args=()
    if [[ "${BENCH_AUTH:-0}" == 1 ]]; then auth_args=(--username bench --password benchpw); fi
    "$LOAD_BIN" --url "$url" --db bench --create-db "${auth_args[@]}" --measurement "$MEASUREMENT" \
        --series "$SERIES" --fields "$FIELDS" --batch-lines "$BATCH_LINES" \
        --connections "$CONNECTIONS" --duration "$DURATION" --timestamps explicit \
        --interval "$INTERVAL" --allow-errors --json "$OUT_DIR/$name-load.json" \
        | sed "s/^/[$name] /"
}

# write_server_result NAME PEAK_KB SAMPLED_MAX_KB STORED_LINES STORED_VALUES [LOAD_CPU_S]
# (LOAD_CPU_S: the server's CPU seconds during the load)
write_server_result() {
    cat >"$OUT_DIR/$1-server.json" <<EOF
{"vm_hwm_kb": ${2:-0}, "rss_sampled_max_kb": ${3:-0}, "stored_lines": ${4:-0}, "stored_values": ${5:-0}, "load_cpu_s": ${6:-0}}
EOF
}

bench_sluice() {
    local dir="$TMP_ROOT/sluice" url="http://127.0.0.1:$SLUICE_PORT" https=false
    mkdir -p "$dir"
    if [[ "${BENCH_HTTPS:-0}" == 1 ]]; then
        command -v openssl >/dev/null || die "BENCH_HTTPS=1 needs openssl"
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
            -addext subjectAltName=IP:127.0.0.1 -keyout "$dir/key.pem" -out "$dir/cert.pem" \
            2>/dev/null || die "openssl could not make a certificate"
        export CURL_CA_BUNDLE="$dir/cert.pem" # every curl below trusts it
        url="https://127.0.0.1:$SLUICE_PORT" https=true
    fi
    log "sluice: starting on $url, data in $dir"
    SLUICE_HTTP_HTTPS_ENABLED=$https SLUICE_HTTP_HTTPS_CERTIFICATE="$dir/cert.pem" \
        SLUICE_HTTP_HTTPS_PRIVATE_KEY="$dir/key.pem" SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_META_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_PORT" SLUICE_DATA_DIR="$dir/data" \
        SLUICE_META_DIR="$dir/meta" SLUICE_DATA_WAL_DIR="$dir/wal" \
        SLUICE_DATA_WAL_FSYNC_DELAY=0s SLUICE_HTTP_AUTH_ENABLED="$([[ "${BENCH_AUTH:-0}" == 1 ]] && echo true || echo false)" \
        "$SLUICE_BIN" run >"$OUT_DIR/sluice.log" 2>&1 &
    SERVER_PID=$!
    wait_for_ping "$url" "$SERVER_PID" || die "sluice did not answer /ping (see $OUT_DIR/sluice.log)"
    if [[ "${BENCH_AUTH:-0}" == 1 ]]; then
        curl -sf -XPOST "$url/query" --data-urlencode \
            "q=CREATE USER bench WITH PASSWORD 'benchpw' WITH ALL PRIVILEGES" >/dev/null \
            || die "sluice: could not create the bench admin user"
    fi
    start_rss_sampler "$SERVER_PID" "$OUT_DIR/sluice-rss.txt"
    local cpu_before cpu_after
    cpu_before=$(cpu_seconds "$SERVER_PID")
    run_load sluice "$url"
    cpu_after=$(cpu_seconds "$SERVER_PID")
    local peak_kb
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    stop_rss_sampler
    log "sluice: stopping"
    stop_server "$SERVER_PID"
    log "sluice: counting exported points"
    local export_args=(-datadir "$dir/data") counts
    if [[ -n "${SLUICE_EXPORT_ARGS:-}" ]]; then
        # shellcheck disable=SC2206  # word splitting of the override is intended
        export_args=(${SLUICE_EXPORT_ARGS//DIR/$dir/data})
    fi
    counts=$("$SLUICE_BIN" export "${export_args[@]}" 2>"$OUT_DIR/sluice-export.err" |
        awk -v prefix="$MEASUREMENT," 'index($0, prefix) == 1 {
            lines++; values += split($2, parts, ",") } END {print lines + 0, values + 0}') ||
        die "sluice export failed (see $OUT_DIR/sluice-export.err)"
    write_server_result sluice "$peak_kb" "$(max_of_file "$OUT_DIR/sluice-rss.txt")" $counts \
        "$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { printf "%.2f", b - a }')"
}

bench_influxdb() {
    local dir="$TMP_ROOT/influxdb" url="http://127.0.0.1:$INFLUXDB_PORT"
    mkdir -p "$dir"
    write_influxdb_conf "$dir/influxdb.conf" "$dir" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT"
    log "influxdb: starting on $url, data in $dir"
    "$INFLUXD" -config "$dir/influxdb.conf" >"$OUT_DIR/influxdb.log" 2>&1 &
    SERVER_PID=$!
    wait_for_ping "$url" "$SERVER_PID" ||
        die "influxd did not answer /ping (see $OUT_DIR/influxdb.log)"
    start_rss_sampler "$SERVER_PID" "$OUT_DIR/influxdb-rss.txt"
    run_load influxdb "$url"
    local peak_kb counts
    peak_kb=$(status_kb "$SERVER_PID" VmHWM)
    stop_rss_sampler
    counts=$(curl -s -G --max-time 600 "$url/query" --data-urlencode db=bench \
        --data-urlencode "q=SELECT count(*) FROM \"$MEASUREMENT\"" | python3 -c '
import json, sys
columns_values = json.load(sys.stdin)["results"][0].get("series", [{}])[0]
columns, rows = columns_values.get("columns", []), columns_values.get("values", [[]])
row = dict(zip(columns, rows[0]))
print(row.get("count_f0", 0), sum(v for k, v in row.items() if k.startswith("count_")))
') || die "counting InfluxDB points failed"
    log "influxdb: stopping"
    stop_server "$SERVER_PID"
    write_server_result influxdb "$peak_kb" "$(max_of_file "$OUT_DIR/influxdb-rss.txt")" $counts
}

# Combines the per-server JSON files, prints the table, writes the results JSON.
report() {
    local stamp
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    python3 - "$OUT_DIR" "$stamp" "$SERVERS" <<'EOF'
import json, os, sys
out_dir, stamp, servers = sys.argv[1], sys.argv[2], sys.argv[3].split()
results, ok = {}, True
for name in servers:
    load = json.load(open(os.path.join(out_dir, f"{name}-load.json")))
    server = json.load(open(os.path.join(out_dir, f"{name}-server.json")))
    stored_ok = (server["stored_lines"] == load["lines_accepted"]
                 and server["stored_values"] == load["values_accepted"])
    ok = ok and stored_ok and load["requests_failed"] == 0 and load["lines_accepted"] > 0
    results[name] = {"load": load, "server": server, "stored_equals_accepted": stored_ok}
def row(name, r):
    load, server = r["load"], r["server"]
    errors = ", ".join(f"{k}: {v}" for k, v in load["errors"].items()) or "none"
    return (f"| {name} | {load['values_per_s']:,.0f} | {load['lines_per_s']:,.0f} "
            f"| {load['latency_us']['p99_us'] / 1000:.1f} "
            f"| {server['vm_hwm_kb'] / 1024:.0f} | {server['rss_sampled_max_kb'] / 1024:.0f} "
            f"| {'yes' if r['stored_equals_accepted'] else 'NO'} "
            f"({server['stored_lines']:,} / {load['lines_accepted']:,}) | {errors} |")
print("| server | values/s | lines/s | p99 ms | peak RSS MiB | max sampled RSS MiB "
      "| stored == accepted (stored / accepted lines) | errors |")
print("|---|---:|---:|---:|---:|---:|---|---|")
for name, r in results.items():
    print(row(name, r))
ratios = {}
def ratio(a, b):
    return round(a / b, 3) if b else None
def times(value):
    return "n/a" if value is None else f"{value:.2f}x"
if "sluice" in results and "influxdb" in results:
    s, i = results["sluice"], results["influxdb"]
    ratios = {
        "values_per_s": ratio(s["load"]["values_per_s"], i["load"]["values_per_s"]),
        "lines_per_s": ratio(s["load"]["lines_per_s"], i["load"]["lines_per_s"]),
        "p99": ratio(s["load"]["latency_us"]["p99_us"], i["load"]["latency_us"]["p99_us"]),
        "peak_rss": ratio(s["server"]["vm_hwm_kb"], i["server"]["vm_hwm_kb"]),
        "rss_sampled_max": ratio(s["server"]["rss_sampled_max_kb"],
                                 i["server"]["rss_sampled_max_kb"]),
    }
    print(f"| Sluice / InfluxDB | {times(ratios['values_per_s'])} "
          f"| {times(ratios['lines_per_s'])} | {times(ratios['p99'])} "
          f"| {times(ratios['peak_rss'])} | {times(ratios['rss_sampled_max'])} | | |")
summary = {"time_utc": stamp, "results": results, "ratios_sluice_over_influxdb": ratios,
           "ok": ok}
text = json.dumps(summary, indent=2)
for path in (f"ingest-{stamp}.json", "ingest-latest.json"):
    with open(os.path.join(out_dir, path), "w") as f:
        f.write(text + "\n")
print(f"\nresults: {os.path.join(out_dir, f'ingest-{stamp}.json')}")
sys.exit(0 if ok else 1)
EOF
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    # A server already on a port would answer in place of ours (Sluice even shares it:
    # SO_REUSEPORT).
    require_port_free "$SLUICE_PORT"
    require_port_free "$INFLUXDB_PORT"
    require_port_free "$INFLUXDB_RPC_PORT"
    mkdir -p "$OUT_DIR"
    if [[ "${BENCH_SKIP_BUILD:-0}" != 1 ]]; then
        log "cargo build --release"
        (cd "$ROOT" && cargo build --release --bin sluice --bin sluice-load)
    fi
    [[ -x "$LOAD_BIN" ]] || die "missing $LOAD_BIN"
    TMP_ROOT=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sluice-bench.XXXXXX")
    for server in $SERVERS; do
        rm -f "$OUT_DIR/$server-load.json" "$OUT_DIR/$server-server.json"
        case "$server" in
            sluice)
                [[ -x "$SLUICE_BIN" ]] || die "missing $SLUICE_BIN"
                bench_sluice
                ;;
            influxdb)
                command -v "$INFLUXD" >/dev/null || die "missing $INFLUXD"
                bench_influxdb
                ;;
            *) die "unknown server $server (expected sluice or influxdb)" ;;
        esac
    done
    report
}

main "$@"
