# Shared by tools/bench_*.sh (sourced, not run). Expects the caller to define
# STARTUP_TIMEOUT_S, STOP_TIMEOUT_S and the SERVER_PID variable; BENCH_LOG_PREFIX (set before
# sourcing) names the script in log lines ("bench" if unset). Each script keeps its own
# `cleanup` (what it must stop and delete differs) and installs its own traps.

# log MESSAGE...: one line on stderr, prefixed with the script's name.
log() { printf '[%s] %s\n' "${BENCH_LOG_PREFIX:-bench}" "$*" >&2; }

# die MESSAGE...: logs the error and exits 1 (the caller's EXIT trap stops its servers).
die() {
    log "error: $*"
    exit 1
}

# status_kb PID KEY: a /proc/PID/status figure in kB (VmHWM = peak RSS, VmRSS = RSS now).
status_kb() { awk -v key="$2:" '$1 == key {print $2}' "/proc/$1/status"; }

# cpu_seconds PID: CPU time (user + system) process PID has used so far, in seconds. Less
# sensitive than throughput to other jobs on the machine: a fixed amount of work costs
# about the same CPU time whoever else runs.
cpu_seconds() {
    awk -v ticks="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f\n", ($12 + $13) / ticks }' \
        "/proc/$1/stat"
}

# loadavg: the 1, 5 and 15 minute load averages, space separated.
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# require_port_free PORT: dies if something already listens on TCP PORT (a stale server
# would otherwise answer in place of the one under test).
require_port_free() {
    local port=$1
    if [[ -n "$(ss -Htln "sport = :$port" 2>/dev/null)" ]]; then
        die "port $port is already in use (ss -tlnp 'sport = :$port' shows by whom)"
    fi
}

# stop_server PID: SIGTERM, wait up to STOP_TIMEOUT_S, then SIGKILL.
stop_server() {
    local pid=$1 waited=0
    kill -TERM "$pid" 2>/dev/null || return 0
    while kill -0 "$pid" 2>/dev/null; do
        if ((waited >= STOP_TIMEOUT_S * 10)); then
            log "pid $pid did not stop in ${STOP_TIMEOUT_S}s: SIGKILL"
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$pid" 2>/dev/null || true
    if [[ "$pid" == "$SERVER_PID" ]]; then SERVER_PID=""; fi
}

# wait_for_ping URL PID: until /ping answers 204, the process dies, or the timeout passes.
wait_for_ping() {
    local url=$1 pid=$2 deadline=$((SECONDS + STARTUP_TIMEOUT_S)) code
    while ((SECONDS < deadline)); do
        kill -0 "$pid" 2>/dev/null || return 1
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/ping" || true)
        if [[ "$code" == 204 ]]; then return 0; fi
        sleep 0.1
    done
    return 1
}

# write_influxdb_conf FILE DIR HTTP_PORT RPC_PORT [DATA_LINES] [EXTRA_SECTIONS]
# The influxdb.conf every bench runs InfluxDB 1.6.7 with: everything under DIR, loopback ports,
# the WAL fsynced before every 204 (wal-fsync-delay 0s, InfluxDB's default, written out), no
# query log, no _internal store, no HTTP log, no continuous queries. DATA_LINES are more
# `[data]` settings (one per line, indented), EXTRA_SECTIONS whole sections appended (inputs).
write_influxdb_conf() {
    local file=$1 dir=$2 http_port=$3 rpc_port=$4 data_lines=${5:-} extra_sections=${6:-}
    {
        cat <<CONF
reporting-disabled = true
bind-address = "127.0.0.1:$rpc_port"
[meta]
  dir = "$dir/meta"
[data]
  dir = "$dir/data"
  wal-dir = "$dir/wal"
  wal-fsync-delay = "0s"
  query-log-enabled = false
CONF
        if [[ -n "$data_lines" ]]; then printf '%s\n' "$data_lines"; fi
        cat <<CONF
[monitor]
  store-enabled = false
[http]
  bind-address = "127.0.0.1:$http_port"
  log-enabled = false
[continuous_queries]
  enabled = false
CONF
        if [[ -n "$extra_sections" ]]; then printf '%s\n' "$extra_sections"; fi
    } >"$file"
}

# remove_tmp_root KEEP: deletes $TMP_ROOT (when set and present) unless KEEP is 1, in which
# case it says where the data was kept. For the scripts' `cleanup`.
remove_tmp_root() {
    if [[ -n "${TMP_ROOT:-}" && -d "$TMP_ROOT" ]]; then
        if [[ "${1:-0}" == 1 ]]; then log "kept $TMP_ROOT"; else rm -rf "$TMP_ROOT"; fi
    fi
}
