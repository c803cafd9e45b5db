# Shared by tools/bench_*.sh (sourced, not run). Expects the caller to define `log`,
# STARTUP_TIMEOUT_S, STOP_TIMEOUT_S and the SERVER_PID variable.

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
