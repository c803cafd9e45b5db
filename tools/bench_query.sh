#!/usr/bin/env bash
# bench_query.sh: query latency, Sluice vs InfluxDB 1.6.7, on the same data in one run.
#
# Builds release, starts both servers on loopback (fresh temp data dirs on the same disk),
# loads the same data set into each with sluice-load (100 hosts x 10 float fields, one point
# per 10 s for 24 h, explicit timestamps: 864,000 lines, 8.64M values), lets both settle
# (caches written to files and each shard fully compacted), checks that the four queries give
# the same JSON on both, then times them query by query: warm-up runs, then BENCH_RUNS timed
# runs per server, interleaved (the server order alternating each round), over one keep-alive
# raw socket per server (the request sent as bytes, the answer read by its framing; answers are
# compared through http.client, whose own parsing would add 100-150 us to every timing). Prints a markdown table (median, p90, Sluice/InfluxDB ratio
# of medians) and writes target/bench/query-<UTC time>.json (+ query-latest.json), with the
# load average before and after the timed runs (the figures are only comparable on an idle
# machine). Exits non-zero if a server failed to start, a load failed, or the answers differ.
#
# Settings (environment):
#   BENCH_RUNS=25 BENCH_WARMUP=3       timed and warm-up runs per query and server
#   BENCH_LIGHT_RUNS=300               timed runs of a light query (every warm-up under 5 ms
#                                      on both servers): sub-millisecond medians need more
#                                      samples to stand above scheduling noise
#   BENCH_SETTLE_TIMEOUT_S=600         longest wait for the servers to settle
#   BENCH_SKIP_BUILD=1                 use the existing target/release binaries
#   BENCH_TMPDIR=/tmp                  where the data dirs go (kept with BENCH_KEEP_TMP=1)
#   BENCH_HOLD=1                       after the report, keep both servers up until Ctrl-C
#                                      (for profiling: perf record -g -p PID)
#   SLUICE_PORT=18690 INFLUXDB_PORT=18790   HTTP ports on 127.0.0.1 (InfluxDB RPC: port + 1)
#   INFLUXD=influxd                    the InfluxDB binary
set -euo pipefail

readonly STARTUP_TIMEOUT_S=60
readonly STOP_TIMEOUT_S=60
# Data set: SERIES hosts x FIELDS fields, one point per INTERVAL for 24 h. BATCH_LINES is a
# multiple of SERIES, so BATCHES batches hold exactly POINTS_PER_SERIES rounds.
readonly SERIES=100
readonly FIELDS=10
readonly INTERVAL_S=10
readonly POINTS_PER_SERIES=$((24 * 3600 / INTERVAL_S))
readonly BATCH_LINES=4800
readonly BATCHES=$((POINTS_PER_SERIES * SERIES / BATCH_LINES))
readonly LOAD_CONNECTIONS=2
# Cold durations small enough that both servers write their caches and fully compact soon.
readonly COLD_DURATION_S=5
# Sluice WAL segments hold a 16-byte header before any record (src/wal.rs).
readonly SLUICE_WAL_HEADER_BYTES=16
readonly SETTLE_POLL_S=1

ROOT=$(cd "$(dirname "$0")/.." && pwd)
readonly ROOT
readonly OUT_DIR="$ROOT/target/bench"
readonly RUNS=${BENCH_RUNS:-25}
readonly WARMUP=${BENCH_WARMUP:-3}
readonly LIGHT_RUNS=${BENCH_LIGHT_RUNS:-300}
readonly SETTLE_TIMEOUT_S=${BENCH_SETTLE_TIMEOUT_S:-600}
readonly SLUICE_PORT=${SLUICE_PORT:-18690}
readonly INFLUXDB_PORT=${INFLUXDB_PORT:-18790}
readonly INFLUXDB_RPC_PORT=$((INFLUXDB_PORT + 1))
readonly INFLUXD=${INFLUXD:-influxd}
readonly SLUICE_BIN="$ROOT/target/release/sluice"
readonly LOAD_BIN="$ROOT/target/release/sluice-load"
readonly SLUICE_URL="http://127.0.0.1:$SLUICE_PORT"
readonly INFLUXDB_URL="http://127.0.0.1:$INFLUXDB_PORT"

# The data set starts at sluice-load's BASE_TIME_NS, 2020-09-13T12:26:40Z (1600000000 s).
readonly QUERIES=(
    "SELECT mean(f0) FROM m WHERE host = 'host42' AND time >= '2020-09-13T18:00:00Z' AND time < '2020-09-13T19:00:00Z' GROUP BY time(1m)"
    "SELECT max(f0) FROM m WHERE time >= '2020-09-13T12:26:40Z' AND time < '2020-09-14T12:26:40Z' GROUP BY time(1h), host"
    "SELECT count(*) FROM m"
    "SHOW TAG VALUES WITH KEY = host"
)

SERVER_PID=""
SLUICE_PID=""
INFLUXDB_PID=""
TMP_ROOT=""

# log, die, status_kb, stop_server, wait_for_ping: tools/bench_lib.sh (sourced below).
BENCH_LOG_PREFIX=bench

cleanup() {
    local status=$?
    if [[ -n "$SLUICE_PID" ]]; then stop_server "$SLUICE_PID" || true; fi
    if [[ -n "$INFLUXDB_PID" ]]; then stop_server "$INFLUXDB_PID" || true; fi
    remove_tmp_root "${BENCH_KEEP_TMP:-0}"
    exit "$status"
}
# shellcheck source=tools/bench_lib.sh
source "$ROOT/tools/bench_lib.sh"
trap cleanup EXIT
trap 'exit 130' INT TERM

start_sluice() {
    local dir="$TMP_ROOT/sluice"
    mkdir -p "$dir"
    log "sluice: starting on $SLUICE_URL, data in $dir"
    SLUICE_BIND_ADDRESS="127.0.0.1:0" SLUICE_HTTP_BIND_ADDRESS="127.0.0.1:$SLUICE_PORT" SLUICE_DATA_DIR="$dir/data" \
        SLUICE_META_DIR="$dir/meta" SLUICE_DATA_WAL_DIR="$dir/wal" \
        SLUICE_DATA_WAL_FSYNC_DELAY=0s \
        SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION="${COLD_DURATION_S}s" \
        "$SLUICE_BIN" run >"$OUT_DIR/query-sluice.log" 2>&1 &
    SLUICE_PID=$!
    wait_for_ping "$SLUICE_URL" "$SLUICE_PID" ||
        die "sluice did not answer /ping (see $OUT_DIR/query-sluice.log)"
}

start_influxdb() {
    local dir="$TMP_ROOT/influxdb"
    mkdir -p "$dir"
    write_influxdb_conf "$dir/influxdb.conf" "$dir" "$INFLUXDB_PORT" "$INFLUXDB_RPC_PORT" \
        "  cache-snapshot-write-cold-duration = \"${COLD_DURATION_S}s\"
  compact-full-write-cold-duration = \"${COLD_DURATION_S}s\""
    log "influxdb: starting on $INFLUXDB_URL, data in $dir"
    "$INFLUXD" -config "$dir/influxdb.conf" >"$OUT_DIR/query-influxdb.log" 2>&1 &
    INFLUXDB_PID=$!
    wait_for_ping "$INFLUXDB_URL" "$INFLUXDB_PID" ||
        die "influxd did not answer /ping (see $OUT_DIR/query-influxdb.log)"
}

# load NAME URL: the same data set for every server.
load() {
    local name=$1 url=$2
    log "$name: loading $((BATCHES * BATCH_LINES)) lines x $FIELDS fields"
    "$LOAD_BIN" --url "$url" --db bench --create-db --measurement m --series "$SERIES" \
        --fields "$FIELDS" --batch-lines "$BATCH_LINES" --batches "$BATCHES" \
        --connections "$LOAD_CONNECTIONS" --duration 3600s --timestamps explicit \
        --interval "${INTERVAL_S}s" --quiet --json "$OUT_DIR/query-$name-load.json" >/dev/null
    python3 - "$OUT_DIR/query-$name-load.json" "$((BATCHES * BATCH_LINES))" <<'EOF' ||
import json, sys
load = json.load(open(sys.argv[1]))
sys.exit(0 if load["lines_accepted"] == int(sys.argv[2]) and load["requests_failed"] == 0 else 1)
EOF
        die "$name: not every line was accepted (see $OUT_DIR/query-$name-load.json)"
}

# Settled: every Sluice shard holds one fully compacted file and no WAL segment holds a record.
sluice_settled() {
    local dir="$TMP_ROOT/sluice" shard files
    [[ -z $(find "$dir/wal" -name '*.wal' -size +"${SLUICE_WAL_HEADER_BYTES}"c) ]] || return 1
    [[ -z $(find "$dir/data" -name '*.tmp') ]] || return 1
    for shard in "$dir"/data/[0-9]*/; do
        files=$(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l)
        [[ "$files" == 1 ]] || return 1
        [[ -n $(find "$shard" -maxdepth 1 -name '*-l4.tsm') ]] || return 1
    done
}

# Settled: every InfluxDB shard holds one TSM file and its WAL segments are empty.
influxdb_settled() {
    local dir="$TMP_ROOT/influxdb" shard files
    [[ -z $(find "$dir/wal" -name '*.wal' -size +0c) ]] || return 1
    [[ -z $(find "$dir/data" -name '*.tmp') ]] || return 1
    for shard in "$dir"/data/bench/autogen/[0-9]*/; do
        files=$(find "$shard" -maxdepth 1 -name '*.tsm' | wc -l)
        [[ "$files" == 1 ]] || return 1
    done
}

wait_until_settled() {
    local deadline=$((SECONDS + SETTLE_TIMEOUT_S)) sluice_done=0 influxdb_done=0
    log "waiting for both servers to write their caches and compact"
    while ((SECONDS < deadline)); do
        if ((!sluice_done)) && sluice_settled; then
            sluice_done=1
            log "sluice settled"
        fi
        if ((!influxdb_done)) && influxdb_settled; then
            influxdb_done=1
            log "influxdb settled"
        fi
        if ((sluice_done && influxdb_done)); then return 0; fi
        sleep "$SETTLE_POLL_S"
    done
    die "servers did not settle in ${SETTLE_TIMEOUT_S}s (sluice $sluice_done, influxdb $influxdb_done)"
}

# Checks the answers, times the queries, prints the table and writes the JSON.
measure() {
    local stamp
    stamp=$(date -u +%Y%m%dT%H%M%SZ)
    printf '%s\n' "${QUERIES[@]}" >"$OUT_DIR/query-queries.txt"
    python3 - "$OUT_DIR" "$stamp" "$SLUICE_URL" "$INFLUXDB_URL" "$RUNS" "$WARMUP" \
        "$SLUICE_PID" "$INFLUXDB_PID" "$OUT_DIR/query-queries.txt" "$LIGHT_RUNS" <<'EOF'
import http.client, json, os, socket, sys, time, urllib.parse
out_dir, stamp, sluice_url, influxdb_url = sys.argv[1:5]
runs, warmup = int(sys.argv[5]), int(sys.argv[6])
pids = {"sluice": sys.argv[7], "influxdb": sys.argv[8]}
queries = [line for line in open(sys.argv[9]).read().splitlines() if line]
light_runs = int(sys.argv[10])
# A query is light when every warm-up run took less than this on both servers.
LIGHT_QUERY_S = 0.005
servers = {"sluice": sluice_url, "influxdb": influxdb_url}
connections = {name: http.client.HTTPConnection(urllib.parse.urlparse(url).netloc, timeout=600)
               for name, url in servers.items()}

def get(name, query):
    """The answer's body through http.client (checked for equality, not timed)."""
    path = "/query?" + urllib.parse.urlencode({"db": "bench", "q": query})
    connection = connections[name]
    connection.request("GET", path)
    response = connection.getresponse()
    body = response.read()
    if response.status != 200:
        raise SystemExit(f"{name}: status {response.status} for {query}: {body[:300]!r}")
    return body

# Timed requests go over a raw keep-alive socket: the request bytes are built once and the
# answer is read by Content-Length or chunked framing, nothing more. http.client's header
# parsing costs 100-150 us per request here, as much as a light query itself, and more for
# chunked answers (InfluxDB's); it would blur the servers' difference.
raw_sockets = {}

def raw_socket(name):
    if name not in raw_sockets:
        address = urllib.parse.urlparse(servers[name])
        sock = socket.create_connection((address.hostname, address.port), timeout=600)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        raw_sockets[name] = [sock, b""]
    return raw_sockets[name]

def read_until(state, marker):
    while marker not in state[1]:
        data = state[0].recv(1 << 16)
        if not data:
            raise SystemExit("connection closed mid-answer")
        state[1] += data
    head, _, state[1] = state[1].partition(marker)
    return head

def read_exactly(state, length):
    while len(state[1]) < length:
        data = state[0].recv(1 << 16)
        if not data:
            raise SystemExit("connection closed mid-answer")
        state[1] += data
    body, state[1] = state[1][:length], state[1][length:]
    return body

def timed_get(name, request_bytes):
    """Seconds from sending the request to the answer's last byte."""
    state = raw_socket(name)
    start = time.perf_counter()
    state[0].sendall(request_bytes)
    head = read_until(state, b"\r\n\r\n").decode("latin-1").lower()
    if not head.startswith("http/1.1 200"):
        raise SystemExit(f"{name}: {head.splitlines()[0]}")
    if "transfer-encoding: chunked" in head:
        while True:
            size = int(read_until(state, b"\r\n").split(b";")[0], 16)
            read_exactly(state, size + 2)
            if size == 0:
                break
    else:
        length = int(head.split("content-length:")[1].split("\r\n")[0])
        read_exactly(state, length)
    return time.perf_counter() - start

def request_bytes(query):
    path = "/query?" + urllib.parse.urlencode({"db": "bench", "q": query})
    return f"GET {path} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

def loadavg():
    return open("/proc/loadavg").read().split()[:3]

def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

same = True
answers = []
for query in queries:
    bodies = {name: get(name, query) for name in servers}
    parsed = {name: json.loads(body) for name, body in bodies.items()}
    equal = parsed["sluice"] == parsed["influxdb"]
    answers.append({"query": query, "same_json": equal,
                    "same_bytes": bodies["sluice"] == bodies["influxdb"],
                    "body_bytes": len(bodies["influxdb"])})
    if not equal:
        same = False
        for name, body in bodies.items():
            with open(os.path.join(out_dir, f"query-diff-{name}.json"), "wb") as f:
                f.write(body)
        print(f"answers differ for: {query} (see {out_dir}/query-diff-*.json)", file=sys.stderr)
    if "error" in bodies["influxdb"].decode():
        same = False
        print(f"InfluxDB answers an error for: {query}", file=sys.stderr)

load_before = loadavg()
cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
latencies = {name: [[] for _ in queries] for name in servers}
# One query at a time, so a light query never runs right behind a heavy one (whose
# after-effects, e.g. InfluxDB's garbage collection, would land on whichever server comes
# next); within a query the servers alternate, the order flipping every round.
runs_of = []
for index, query in enumerate(queries):
    request = request_bytes(query)
    slowest_warmup = 0.0
    for _ in range(warmup):
        for name in servers:
            slowest_warmup = max(slowest_warmup, timed_get(name, request))
    query_runs = light_runs if slowest_warmup < LIGHT_QUERY_S else runs
    runs_of.append(query_runs)
    for round_index in range(query_runs):
        order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
        for name in order:
            latencies[name][index].append(timed_get(name, request) * 1000)
load_after = loadavg()
cpu_used = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in pids.items()}

def percentile(values, fraction):
    ordered = sorted(values)
    # nearest rank
    rank = max(1, -(-len(ordered) * fraction // 1))
    return ordered[int(rank) - 1]

rows = []
print(f"load average (1, 5, 15 min): before {' '.join(load_before)}, "
      f"after {' '.join(load_after)}")
print()
print("| query | runs | Sluice median ms | Sluice p90 ms | InfluxDB median ms | InfluxDB p90 ms "
      "| Sluice / InfluxDB (median) | same JSON |")
print("|---|---:|---:|---:|---:|---:|---:|---|")
for index, query in enumerate(queries):
    s, i = latencies["sluice"][index], latencies["influxdb"][index]
    row = {"query": query,
           "sluice_ms": {"median": percentile(s, 0.5), "p90": percentile(s, 0.9),
                         "min": min(s), "max": max(s)},
           "influxdb_ms": {"median": percentile(i, 0.5), "p90": percentile(i, 0.9),
                           "min": min(i), "max": max(i)},
           "runs": runs_of[index], **answers[index]}
    row["ratio_median"] = row["sluice_ms"]["median"] / row["influxdb_ms"]["median"]
    rows.append(row)
    print(f"| `{query}` | {row['runs']} | {row['sluice_ms']['median']:.2f} "
          f"| {row['sluice_ms']['p90']:.2f} "
          f"| {row['influxdb_ms']['median']:.2f} | {row['influxdb_ms']['p90']:.2f} "
          f"| {row['ratio_median']:.3f} | {'yes' if row['same_json'] else 'NO'} |")
print()
print(f"server CPU during the timed runs: sluice {cpu_used['sluice']:.2f} s, "
      f"influxdb {cpu_used['influxdb']:.2f} s")
summary = {"time_utc": stamp, "runs": runs, "warmup": warmup,
           "loadavg_before": load_before, "loadavg_after": load_after,
           "server_cpu_s": cpu_used, "queries": rows, "same_answers": same,
           "latencies_ms": latencies}
text = json.dumps(summary, indent=2)
for path in (f"query-{stamp}.json", "query-latest.json"):
    with open(os.path.join(out_dir, path), "w") as f:
        f.write(text + "\n")
print(f"\nresults: {os.path.join(out_dir, f'query-{stamp}.json')}")
sys.exit(0 if same else 1)
EOF
}

main() {
    command -v curl >/dev/null || die "curl is needed"
    command -v python3 >/dev/null || die "python3 is needed"
    command -v "$INFLUXD" >/dev/null || die "missing $INFLUXD"
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
    [[ -x "$SLUICE_BIN" ]] || die "missing $SLUICE_BIN"
    [[ -x "$LOAD_BIN" ]] || die "missing $LOAD_BIN"
    TMP_ROOT=$(mktemp -d "${BENCH_TMPDIR:-${TMPDIR:-/tmp}}/sluice-query-bench.XXXXXX")
    start_sluice
    start_influxdb
    load sluice "$SLUICE_URL"
    load influxdb "$INFLUXDB_URL"
    wait_until_settled
    local status=0
    measure || status=$?
    if [[ "${BENCH_HOLD:-0}" == 1 ]]; then
        log "holding: sluice pid $SLUICE_PID ($SLUICE_URL), influxd pid $INFLUXDB_PID" \
            "($INFLUXDB_URL); stop with Ctrl-C or kill -TERM $$"
        while kill -0 "$SLUICE_PID" 2>/dev/null; do sleep 1; done
    fi
    return "$status"
}

main "$@"
