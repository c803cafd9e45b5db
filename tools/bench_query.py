#!/usr/bin/env python3
"""The query benchmark's driver (tools/bench_query.sh starts the servers and loads the data).

`measure` checks and times one phase of one data set on the three running servers (Sluice,
InfluxDB 1.6.7, VictoriaMetrics) and writes the phase's figures as JSON; `report` folds the
phase files into the markdown tables and the run's summary JSON. `queries` prints the query
table (InfluxQL and the VictoriaMetrics equivalent of each) as markdown; `selftest` runs the
answer checks on hand-made answers.

Checks, before any timing: Sluice's JSON must equal InfluxDB's (parsed, so key order and
number spelling aside; the bytes are compared too and reported); VictoriaMetrics' numbers must
equal InfluxDB's within FLOAT_REL_TOLERANCE where the MetricsQL is an equivalent (each query
says how VictoriaMetrics' answer maps onto InfluxDB's: its step timestamps are the *end* of a
window, so a shift maps them to InfluxDB's bucket starts; instant rollups carry the query time,
not the point's). A query VictoriaMetrics has no equal for is marked so, and its check is the
closest one that holds (e.g. metric names for measurements).

Timing: one query at a time (a light query never runs behind a heavy one); within a query the
servers take turns, the order rotating every round, over one keep-alive raw socket per server
(the request built once, the answer read by its framing: http.client's parsing costs 100-150
us a request, as much as a light query). A query whose warm-up runs all took under
LIGHT_QUERY_S on every server gets the light run count.
"""

import argparse
import datetime
import glob
import http.client
import json
import math
import os
import socket
import sys
import time
import urllib.parse

SERVERS = ("sluice", "influxdb", "victoria-metrics")
LABEL = {"sluice": "Sluice", "influxdb": "InfluxDB", "victoria-metrics": "VictoriaMetrics"}
# A query is light when every warm-up run took less than this on every server.
LIGHT_QUERY_S = 0.005
# VictoriaMetrics stores floats as decimal mantissa and exponent, and sums in its own order.
FLOAT_REL_TOLERANCE = 1e-9
# SHOW SERIES CARDINALITY is a sketch estimate in InfluxDB 1.6; VictoriaMetrics counts exactly.
CARDINALITY_REL_TOLERANCE = 0.05
# The data sets start at sluice-load's BASE_TIME_NS, 2020-09-13T12:26:40Z.
BASE_S = 1_600_000_000
# Instant rollups are evaluated here with a 2-day window: every point of either set is inside.
INSTANT_AT_S = BASE_S + 86_400
HOUR_S = 3600


def utc_s(text):
    return int(datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())


def instant(query):
    return ("/api/v1/query", {"query": query, "time": str(INSTANT_AT_S)})


def query_range(query, first_bucket, last_bucket, step_s, window_end_s):
    """VictoriaMetrics' window ending at T is (T - window, T]; InfluxDB's bucket B is
    [B, B + step). With points on 10 s multiples, bucket B holds B .. B + step - 10 s, which is
    VictoriaMetrics' window at T = B + window_end_s. So start at the first bucket plus that."""
    start = utc_s(first_bucket) + window_end_s
    end = utc_s(last_bucket) + window_end_s
    return ("/api/v1/query_range",
            {"query": query, "start": str(start), "end": str(end), "step": str(step_s)})


def label_values(label, span_s=86_400):
    # Without start/end VictoriaMetrics lists only the current day's values.
    return (f"/api/v1/label/{label}/values",
            {"start": str(BASE_S), "end": str(BASE_S + span_s)})


# Each query: id, what it exercises, the InfluxQL, the VictoriaMetrics request, how its answer
# is checked against InfluxDB's (check kind and arguments), and a note on comparability.
HOSTS_QUERIES = [
    {"id": "H1", "what": "last() by tag",
     "influxql": "SELECT last(f0) FROM m GROUP BY host",
     "vm": instant("last_over_time(m_f0[2d])"), "check": ("by_host_instant",),
     "note": "values equal; VM stamps the query time, not the point's"},
    {"id": "H2", "what": "first() by tag",
     "influxql": "SELECT first(f0) FROM m GROUP BY host",
     "vm": instant("first_over_time(m_f0[2d])"), "check": ("by_host_instant",),
     "note": "values equal; VM stamps the query time, not the point's"},
    {"id": "H3", "what": "count(*)",
     "influxql": "SELECT count(*) FROM m",
     "vm": instant('sum by (__name__) (count_over_time({__name__=~"m_f[0-9]+"}[2d]) '
                   'keep_metric_names)'),
     "check": ("count_fields",), "note": "equal, field by field"},
    {"id": "H4", "what": "max by 1h and host, 24 h",
     "influxql": "SELECT max(f0) FROM m WHERE time >= '2020-09-13T12:26:40Z' AND "
                 "time < '2020-09-14T12:26:40Z' GROUP BY time(1h), host",
     "vm": query_range("max_over_time(m_f0[1h])", "2020-09-13T12:00:00Z",
                       "2020-09-14T12:00:00Z", HOUR_S, HOUR_S - 10),
     "check": ("range", HOUR_S - 10, "host"),
     "note": "equal; VM step T = InfluxDB bucket + 3590 s"},
    {"id": "H5", "what": "mean of one host by 1m, 1 h",
     "influxql": "SELECT mean(f0) FROM m WHERE host = 'host42' AND "
                 "time >= '2020-09-13T18:00:00Z' AND time < '2020-09-13T19:00:00Z' "
                 "GROUP BY time(1m)",
     "vm": query_range('avg_over_time(m_f0{host="host42"}[1m])', "2020-09-13T18:00:00Z",
                       "2020-09-13T18:59:00Z", 60, 50),
     "check": ("range", 50, None), "note": "equal; VM step T = InfluxDB bucket + 50 s"},
    {"id": "H6", "what": "SHOW TAG VALUES",
     "influxql": "SHOW TAG VALUES WITH KEY = host",
     "vm": label_values("host"), "check": ("label_values",), "note": "same values"},
    {"id": "H7", "what": "mean of one region by 5m, 6 h",
     "influxql": "SELECT mean(f0) FROM m WHERE region = 'r3' AND "
                 "time >= '2020-09-13T18:00:00Z' AND time < '2020-09-14T00:00:00Z' "
                 "GROUP BY time(5m)",
     "vm": query_range('sum(sum_over_time(m_f0{region="r3"}[5m])) / '
                       'sum(count_over_time(m_f0{region="r3"}[5m]))',
                       "2020-09-13T18:00:00Z", "2020-09-13T23:55:00Z", 300, 290),
     "check": ("range", 290, None),
     "note": "equal (sum / count over the region's series); VM step T = bucket + 290 s"},
    {"id": "H8", "what": "GROUP BY time over days",
     "influxql": "SELECT mean(f0) FROM m WHERE time >= '2020-09-13T00:00:00Z' AND "
                 "time < '2020-09-15T00:00:00Z' GROUP BY time(1d)",
     "vm": query_range("sum(sum_over_time(m_f0[1d])) / sum(count_over_time(m_f0[1d]))",
                       "2020-09-13T00:00:00Z", "2020-09-14T00:00:00Z", 86_400, 86_390),
     "check": ("range", 86_390, None),
     "note": "equal (sum / count); VM step T = bucket + 86390 s"},
    {"id": "H9", "what": "WHERE tag =~ regex, by 1h",
     "influxql": "SELECT max(f0) FROM m WHERE host =~ /^host4[0-9]$/ AND "
                 "time >= '2020-09-13T12:26:40Z' AND time < '2020-09-14T12:26:40Z' "
                 "GROUP BY time(1h)",
     "vm": query_range('max(max_over_time(m_f0{host=~"host4[0-9]"}[1h]))',
                       "2020-09-13T12:00:00Z", "2020-09-14T12:00:00Z", HOUR_S, HOUR_S - 10),
     "check": ("range", HOUR_S - 10, None),
     "note": "equal (VM regexes are anchored); VM step T = bucket + 3590 s"},
]

MILLION_QUERIES = [
    {"id": "M1", "what": "SHOW TAG VALUES, 1M values",
     "influxql": "SHOW TAG VALUES WITH KEY = host",
     "vm": label_values("host"), "check": ("label_values",), "note": "same values"},
    {"id": "M2", "what": "SHOW SERIES CARDINALITY",
     "influxql": "SHOW SERIES CARDINALITY",
     "vm": ("/api/v1/series/count", {}), "check": ("cardinality",),
     "note": "InfluxDB 1.6 estimates (sketch); VM counts: equal within 5 %"},
    {"id": "M3", "what": "SHOW MEASUREMENTS",
     "influxql": "SHOW MEASUREMENTS",
     "vm": label_values("__name__"), "check": ("measurements",),
     "note": "not equal by design: VM names are measurement_field (m_f0)"},
    {"id": "M4", "what": "count over all 1M series",
     "influxql": "SELECT count(f0) FROM m",
     "vm": instant("sum(count_over_time(m_f0[2d]))"), "check": ("scalar",), "note": "equal"},
    {"id": "M5", "what": "count WHERE tag =~ regex, 1M values",
     "influxql": "SELECT count(f0) FROM m WHERE host =~ /^host12345/",
     "vm": instant('sum(count_over_time(m_f0{host=~"host12345.*"}[2d]))'),
     "check": ("scalar",), "note": "equal"},
]

SETS = {"hosts": HOSTS_QUERIES, "1m": MILLION_QUERIES}
SET_TITLES = {"hosts": "100 hosts × 10 fields, 24 h at 10 s (8.64 M values)",
              "1m": "1 M series × 1 field × 3 points (3 M values)"}


def vm_request_text(spec):
    path, params = spec["vm"]
    if "query" in params:
        extra = {k: v for k, v in params.items() if k != "query"}
        return f"`{params['query']}` ({path.rsplit('/', 1)[1]}, " + \
            ", ".join(f"{k}={v}" for k, v in extra.items()) + ")"
    return f"`{path}`" + (f" (start={params['start']}, end={params['end']})"
                          if "start" in params else "")


# ---- HTTP ---------------------------------------------------------------------------------

class Server:
    def __init__(self, name, url, db):
        self.name = name
        self.netloc = urllib.parse.urlparse(url).netloc
        self.db = db
        self.connection = http.client.HTTPConnection(self.netloc, timeout=1200)
        self.sock = None
        self.buffer = b""

    def path(self, spec):
        if self.name == "victoria-metrics":
            path, params = spec["vm"]
            # nocache: VictoriaMetrics runs with -search.disableCache too; this also keeps
            # query_range from aligning start to the step.
            return path + "?" + urllib.parse.urlencode(dict(params, nocache="1"))
        return "/query?" + urllib.parse.urlencode({"db": self.db, "q": spec["influxql"]})

    def get(self, spec):
        """The answer's body through http.client (checked, not timed)."""
        self.connection.request("GET", self.path(spec))
        response = self.connection.getresponse()
        body = response.read()
        if response.status != 200:
            raise SystemExit(f"{self.name}: status {response.status} for {spec['id']}: "
                             f"{body[:300]!r}")
        return body

    def request_bytes(self, spec):
        return f"GET {self.path(spec)} HTTP/1.1\r\nHost: bench\r\n\r\n".encode()

    def _recv(self):
        data = self.sock.recv(1 << 20)
        if not data:
            raise SystemExit(f"{self.name}: connection closed mid-answer")
        self.buffer += data

    def _until(self, marker):
        while marker not in self.buffer:
            self._recv()
        head, _, self.buffer = self.buffer.partition(marker)
        return head

    def _exactly(self, length):
        while len(self.buffer) < length:
            self._recv()
        self.buffer = self.buffer[length:]

    def connect(self):
        host, port = self.netloc.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=1200)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""

    def timed_get(self, request):
        """Seconds from sending the request to the answer's last byte. A keep-alive connection
        the server closed before answering (Go servers close idle ones) is opened again and
        the request sent again, the timing restarted."""
        for attempt in range(2):
            if self.sock is None:
                self.connect()
            start = time.perf_counter()
            self.sock.sendall(request)
            try:
                head = self._until(b"\r\n\r\n").decode("latin-1").lower()
                break
            except (SystemExit, ConnectionError):
                self.sock.close()
                self.sock = None
                if attempt == 1 or self.buffer:
                    raise
        if not head.startswith("http/1.1 200"):
            raise SystemExit(f"{self.name}: {head.splitlines()[0]}")
        if "transfer-encoding: chunked" in head:
            while True:
                size = int(self._until(b"\r\n").split(b";")[0], 16)
                self._exactly(size + 2)
                if size == 0:
                    break
        else:
            self._exactly(int(head.split("content-length:")[1].split("\r\n")[0]))
        elapsed = time.perf_counter() - start
        if "connection: close" in head:
            self.sock.close()
            self.sock = None
        return elapsed


# ---- checks -------------------------------------------------------------------------------

def close(a, b, rel=FLOAT_REL_TOLERANCE):
    return math.isclose(float(a), float(b), rel_tol=rel, abs_tol=1e-12)


def json_close(a, b):
    """Equal JSON, except that floats need only be within FLOAT_REL_TOLERANCE (a sum in
    another order differs in the last digits)."""
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, (int, float)) and isinstance(b, (int, float)) and close(a, b)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_close(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_close(a[k], b[k]) for k in a)
    return a == b


def influx_series(answer):
    result = answer["results"][0]
    if "error" in result:
        raise ValueError(f"InfluxDB error: {result['error']}")
    return result.get("series", [])


def vm_result(answer):
    if answer.get("status") != "success":
        raise ValueError(f"VictoriaMetrics error: {answer}")
    return answer["data"]


def compare_maps(influx, vm, what):
    if set(influx) != set(vm):
        only_i, only_v = sorted(set(influx) - set(vm)), sorted(set(vm) - set(influx))
        return f"{what} differ: InfluxDB only {only_i[:3]} ({len(only_i)}), " \
               f"VM only {only_v[:3]} ({len(only_v)})"
    for key, value in influx.items():
        if not close(value, vm[key]):
            return f"{key}: InfluxDB {value}, VM {vm[key]}"
    return None


def check_vm(spec, influx_answer, vm_answer):
    """None when VictoriaMetrics' answer equals InfluxDB's as the query's check says, else
    what differs."""
    kind, *args = spec["check"]
    series = influx_series(influx_answer)
    data = vm_result(vm_answer)
    if kind == "by_host_instant":
        influx = {s["tags"]["host"]: s["values"][0][1] for s in series}
        vm = {r["metric"]["host"]: r["value"][1] for r in data["result"]}
        return compare_maps(influx, vm, "hosts")
    if kind == "count_fields":
        row = dict(zip(series[0]["columns"], series[0]["values"][0]))
        influx = {k[len("count_"):]: v for k, v in row.items() if k.startswith("count_")}
        vm = {r["metric"]["__name__"][len("m_"):]: r["value"][1] for r in data["result"]}
        return compare_maps(influx, vm, "fields")
    if kind == "range":
        shift, tag = args
        influx, vm = {}, {}
        for s in series:
            key = s.get("tags", {}).get(tag, "") if tag else ""
            for t, v in s["values"]:
                if v is not None:
                    influx[(key, utc_s(t))] = v
        for r in data["result"]:
            key = r["metric"].get(tag, "") if tag else ""
            for t, v in r["values"]:
                vm[(key, int(t) - shift)] = v
        return compare_maps(influx, vm, "buckets")
    if kind == "label_values":
        influx = sorted(v for _, v in series[0]["values"])
        return None if influx == sorted(data) else \
            f"{len(influx)} values in InfluxDB, {len(data)} in VM"
    if kind == "scalar":
        influx = series[0]["values"][0][1]
        vm = data["result"][0]["value"][1] if data["result"] else 0
        return None if close(influx, vm) else f"InfluxDB {influx}, VM {vm}"
    if kind == "cardinality":
        influx = series[0]["values"][0][0]
        vm = data[0] if isinstance(data, list) else data
        return None if close(influx, vm, CARDINALITY_REL_TOLERANCE) else \
            f"InfluxDB {influx}, VM {vm}"
    if kind == "measurements":
        influx = sorted(v[0] for v in series[0]["values"])
        vm = sorted({name.rsplit("_", 1)[0] for name in data})
        return None if influx == vm else f"InfluxDB {influx}, VM {vm}"
    raise SystemExit(f"BUG: unknown check {kind}")


# ---- server state -------------------------------------------------------------------------

def storage_state(name, directory):
    """What the server holds on disk now: TSM files per shard and bytes in the WAL (Sluice,
    InfluxDB), storage parts (VictoriaMetrics, from /metrics)."""
    if name == "victoria-metrics":
        return None
    shards = [d for d in glob.glob(os.path.join(directory, "data", "**", "[0-9]*"),
                                   recursive=True) if os.path.isdir(d) and
              glob.glob(os.path.join(d, "*.tsm"))]
    wal = sum(os.path.getsize(f) for f in glob.glob(os.path.join(directory, "wal", "**", "*.wal"),
                                                     recursive=True))
    return {"shards": len(shards),
            "tsm_files": sum(len(glob.glob(os.path.join(d, "*.tsm"))) for d in shards),
            "wal_bytes": wal}


def vm_state(server):
    connection = http.client.HTTPConnection(server.netloc, timeout=60)
    connection.request("GET", "/metrics")
    state = {}
    for line in connection.getresponse().read().decode().splitlines():
        for metric in ("vm_parts", "vm_pending_rows", "vm_active_merges"):
            if line.startswith(metric + "{"):
                key, value = line.rsplit(" ", 1)
                state[key] = int(float(value))
    return state


# ---- measure ------------------------------------------------------------------------------

def loadavg():
    return open("/proc/loadavg").read().split()[:3]


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentile(values, fraction):
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * fraction // 1))  # nearest rank
    return ordered[int(rank) - 1]


def measure(args):
    specs = SETS[args.set]
    if args.only:
        specs = [s for s in specs if s["id"] in args.only.split(",")]
    urls = dict(zip(SERVERS, args.urls.split(",")))
    pids = dict(zip(SERVERS, args.pids.split(",")))
    dirs = dict(zip(SERVERS, args.dirs.split(",")))
    servers = {name: Server(name, urls[name], args.db) for name in SERVERS}
    state = {name: storage_state(name, dirs[name]) for name in SERVERS}
    state["victoria-metrics"] = vm_state(servers["victoria-metrics"])

    rows = []
    for spec in specs:
        bodies = {name: server.get(spec) for name, server in servers.items()}
        parsed = {name: json.loads(body) for name, body in bodies.items()}
        row = {"id": spec["id"], "what": spec["what"], "query": spec["influxql"],
               "vm_query": vm_request_text(spec), "vm_note": spec["note"],
               "same_json": parsed["sluice"] == parsed["influxdb"],
               "same_bytes": bodies["sluice"] == bodies["influxdb"],
               "floats_close": json_close(parsed["sluice"], parsed["influxdb"]),
               "body_bytes": {name: len(body) for name, body in bodies.items()}}
        problems = []
        try:
            influx_series(parsed["influxdb"])
        except (ValueError, KeyError, IndexError) as error:
            problems.append(str(error))
        if not row["same_json"]:
            for name in ("sluice", "influxdb"):
                with open(os.path.join(args.out_dir,
                                       f"query-diff-{spec['id']}-{args.phase}-{name}.json"),
                          "wb") as f:
                    f.write(bodies[name])
            problems.append("Sluice's JSON differs from InfluxDB's" +
                            (" (floats in the last digits only)" if row["floats_close"] else ""))
        try:
            row["vm_difference"] = check_vm(spec, parsed["influxdb"], parsed["victoria-metrics"])
        except (ValueError, KeyError, IndexError, TypeError) as error:
            row["vm_difference"] = f"unreadable: {error!r}"[:300]
        if row["vm_difference"]:
            with open(os.path.join(args.out_dir,
                                   f"query-diff-{spec['id']}-{args.phase}-vm.json"), "wb") as f:
                f.write(bodies["victoria-metrics"])
            problems.append(f"VictoriaMetrics: {row['vm_difference']}")
        for problem in problems:
            print(f"[{args.set}/{args.phase}] {spec['id']}: {problem}", file=sys.stderr)
        row["answers_ok"] = not problems
        rows.append(row)

    load_before = loadavg()
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    started = time.monotonic()
    for spec, row in zip(specs, rows):
        requests = {name: server.request_bytes(spec) for name, server in servers.items()}
        slowest_warmup = 0.0
        for _ in range(args.warmup):
            for name, server in servers.items():
                slowest_warmup = max(slowest_warmup, server.timed_get(requests[name]))
        runs = args.light_runs if slowest_warmup < LIGHT_QUERY_S else args.runs
        latencies = {name: [] for name in SERVERS}
        for round_index in range(runs):
            shift = round_index % len(SERVERS)
            for name in SERVERS[shift:] + SERVERS[:shift]:
                latencies[name].append(servers[name].timed_get(requests[name]) * 1000)
        row["runs"] = runs
        row["latencies_ms"] = latencies
        for name in SERVERS:
            values = latencies[name]
            row[name] = {"median": percentile(values, 0.5), "p90": percentile(values, 0.9),
                         "min": min(values), "max": max(values)}
        s, i, v = (row[name]["median"] for name in SERVERS)
        row["ratio_influxdb"] = s / i
        row["ratio_vm"] = s / v
        row["meets_goal"] = s <= 0.5 * i and s <= v
        print(f"[{args.set}/{args.phase}] {spec['id']}: {runs} runs, medians ms "
              f"sluice {s:.2f} influxdb {i:.2f} vm {v:.2f}", file=sys.stderr)
    phase = {"set": args.set, "phase": args.phase, "loadavg_before": load_before,
             "loadavg_after": loadavg(), "timed_s": time.monotonic() - started,
             "server_cpu_s": {name: cpu_seconds(pid) - cpu_before[name]
                              for name, pid in pids.items()},
             "storage_state": state, "settings": {"runs": args.runs, "warmup": args.warmup,
                                                  "light_runs": args.light_runs},
             "queries": rows}
    with open(args.out, "w") as f:
        json.dump(phase, f, indent=1)
    return 0 if all(row["answers_ok"] for row in rows) else 1


# ---- report -------------------------------------------------------------------------------

def fmt(ms):
    if ms >= 100:
        return f"{ms:,.0f}"
    if ms >= 10:
        return f"{ms:.1f}"
    return f"{ms:.2f}"


def state_text(state):
    parts = []
    for name in ("sluice", "influxdb"):
        s = state.get(name)
        if s:
            parts.append(f"{LABEL[name]} {s['tsm_files']} TSM files in {s['shards']} shards, "
                         f"WAL {s['wal_bytes'] / 1e6:.1f} MB")
    vm = state.get("victoria-metrics") or {}
    vm_parts = sum(v for k, v in vm.items() if k.startswith("vm_parts{type=\"storage"))
    vm_pending = sum(v for k, v in vm.items() if k.startswith("vm_pending_rows"))
    parts.append(f"VictoriaMetrics {vm_parts} storage parts, {vm_pending} pending rows")
    return "; ".join(parts)


def phase_table(phase):
    lines = [f"Load average before / after: {' '.join(phase['loadavg_before'])} / "
             f"{' '.join(phase['loadavg_after'])}; on disk when timing started: "
             f"{state_text(phase['storage_state'])}.", "",
             "| # | query | runs | Sluice median / p90 ms | InfluxDB median / p90 ms "
             "| VM median / p90 ms | Sluice / InfluxDB | Sluice / VM | meets goal "
             "| answers |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|---|"]
    for row in phase["queries"]:
        cells = [f"{fmt(row[n]['median'])} / {fmt(row[n]['p90'])}" for n in SERVERS]
        answers = "Sluice = InfluxDB" if row["same_json"] else \
            "**Sluice ≠ InfluxDB** (floats, last digits)" if row["floats_close"] else \
            "**Sluice ≠ InfluxDB**"
        answers += ", VM ≈ InfluxDB" if not row["vm_difference"] else \
            f", VM: {row['vm_difference']}"
        goal = "yes" if row["meets_goal"] else "**no**"
        lines.append(f"| {row['id']} | {row['what']} | {row['runs']} | {cells[0]} | {cells[1]} "
                     f"| {cells[2]} | {row['ratio_influxdb']:.3f} | {row['ratio_vm']:.3f} "
                     f"| {goal} | {answers} |")
    return "\n".join(lines)


def queries_table(set_names):
    lines = ["| # | InfluxQL (Sluice, InfluxDB) | VictoriaMetrics equivalent | "
             "VM answer vs InfluxDB's |", "|---|---|---|---|"]
    for set_name in set_names:
        for spec in SETS[set_name]:
            lines.append(f"| {spec['id']} | `{spec['influxql']}` | {vm_request_text(spec)} "
                         f"| {spec['note']} |")
    return "\n".join(lines)


def report(args):
    # A phase whose measurement failed (a server error) left no file: reported, not fatal.
    missing = [path for path in args.phase_files if not os.path.exists(path)]
    for path in missing:
        print(f"report: no {path} (that phase failed; see the log above)", file=sys.stderr)
    phases = [json.load(open(path)) for path in args.phase_files if path not in missing]
    if not phases:
        return 1
    set_names = [name for name in SETS if any(p["set"] == name for p in phases)]
    out = [f"Query benchmark, {args.stamp} (`{args.command}`)", ""]
    for set_name in set_names:
        for phase in (p for p in phases if p["set"] == set_name):
            out += [f"### {SET_TITLES[set_name]}: {phase['phase']}", "", phase_table(phase), ""]
    out += ["Queries:", "", queries_table(set_names)]
    text = "\n".join(out)
    print(text)
    ok = not missing and all(row["answers_ok"] for p in phases for row in p["queries"])
    goal = all(row["meets_goal"] for p in phases for row in p["queries"])
    summary = {"time_utc": args.stamp, "command": args.command, "phases": phases,
               "same_answers": ok, "meets_goal": goal,
               "loads": {path: json.load(open(path)) for path in args.load_files
                         if os.path.exists(path)}}
    # tools/bench_compare_report.py folds "queries" (sluice_ms / influxdb_ms per query) into
    # its table: the compacted phase of the hosts set, as bench_query.sh timed before.
    for phase in phases:
        if phase["set"] == "hosts" and phase["phase"] == "compacted":
            summary["runs"] = phase["settings"]["runs"]
            summary["queries"] = [{"query": row["query"], "sluice_ms": row["sluice"],
                                   "influxdb_ms": row["influxdb"], "vm_ms": row["victoria-metrics"],
                                   "runs": row["runs"]} for row in phase["queries"]]
    for name in (f"query-{args.stamp}", "query-latest"):
        with open(os.path.join(args.out_dir, name + ".json"), "w") as f:
            json.dump(summary, f, indent=1)
        with open(os.path.join(args.out_dir, name + ".md"), "w") as f:
            f.write(text + "\n")
    print(f"\nresults: {os.path.join(args.out_dir, f'query-{args.stamp}.json')}")
    print(f"answers all checked equal: {'yes' if ok else 'NO'}; every query meets the goal: "
          f"{'yes' if goal else 'no'}")
    return 0 if ok else 1


def selftest():
    """The answer checks on hand-made answers (no server): each kind accepts an equal answer
    and rejects a different one."""
    def influx(series):
        return {"results": [{"statement_id": 0, "series": series}]}

    def vm(data):
        return {"status": "success", "data": data}

    spec = {spec["id"]: spec for spec in HOSTS_QUERIES + MILLION_QUERIES}
    hosts = influx([{"name": "m", "tags": {"host": h}, "columns": ["time", "last"],
                     "values": [["2020-09-14T12:26:30Z", v]]} for h, v in (("a", 1.5), ("b", 2))])
    hosts_vm = vm({"result": [{"metric": {"host": "a"}, "value": [1, "1.5"]},
                              {"metric": {"host": "b"}, "value": [1, "2"]}]})
    ranged = influx([{"name": "m", "columns": ["time", "mean"],
                      "values": [["2020-09-13T18:00:00Z", 40.5], ["2020-09-13T18:05:00Z", None],
                                 ["2020-09-13T18:10:00Z", 41.0]]}])
    ranged_vm = vm({"result": [{"metric": {}, "values": [[1600020290, "40.5"],
                                                         [1600020890, "41.00000000000001"]]}]})
    counts = influx([{"name": "m", "columns": ["time", "count_f0", "count_f1"],
                      "values": [["1970-01-01T00:00:00Z", 3, 3]]}])
    counts_vm = vm({"result": [{"metric": {"__name__": "m_f0"}, "value": [1, "3"]},
                               {"metric": {"__name__": "m_f1"}, "value": [1, "3"]}]})
    tags = influx([{"name": "m", "columns": ["key", "value"],
                    "values": [["host", "host0"], ["host", "host1"]]}])
    cases = [
        ("H1", hosts, hosts_vm, True),
        ("H1", hosts, vm({"result": hosts_vm["data"]["result"][:1]}), False),
        ("H7", ranged, ranged_vm, True),
        ("H7", ranged, vm({"result": [{"metric": {}, "values": [[1600020000, "40.5"],
                                                                [1600020600, "41"]]}]}), False),
        ("H3", counts, counts_vm, True),
        ("H3", counts, vm({"result": counts_vm["data"]["result"][:1]}), False),
        ("H6", tags, vm(["host1", "host0"]), True),
        ("H6", tags, vm(["host0"]), False),
        ("M2", influx([{"columns": ["count"], "values": [[1_010_000]]}]), vm([1_000_000]), True),
        ("M2", influx([{"columns": ["count"], "values": [[2_000_000]]}]), vm([1_000_000]), False),
        ("M3", influx([{"name": "measurements", "columns": ["name"], "values": [["m"]]}]),
         vm(["m_f0"]), True),
        ("M4", influx([{"name": "m", "columns": ["time", "count"],
                        "values": [["1970-01-01T00:00:00Z", 3000000]]}]),
         vm({"result": [{"metric": {}, "value": [1, "3000000"]}]}), True),
        ("M5", influx([{"name": "m", "columns": ["time", "count"],
                        "values": [["1970-01-01T00:00:00Z", 33]]}]), vm({"result": []}), False),
    ]
    failed = 0
    for query_id, influx_answer, vm_answer, equal in cases:
        difference = check_vm(spec[query_id], influx_answer, vm_answer)
        if (difference is None) != equal:
            failed += 1
            print(f"selftest: {query_id} expected {'equal' if equal else 'a difference'}, "
                  f"got {difference!r}", file=sys.stderr)
    for a, b, equal in (([1.0, "x"], [1.0000000000000002, "x"], True), ([1.0], [1.1], False),
                        ({"a": 1}, {"a": 1, "b": 2}, False), ([None], [None], True)):
        if json_close(a, b) != equal:
            failed += 1
            print(f"selftest: json_close({a}, {b}) is not {equal}", file=sys.stderr)
    print(f"{len(cases) + 4 - failed} passed, {failed} failed")
    return 1 if failed else 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    m = sub.add_parser("measure")
    m.add_argument("--set", choices=sorted(SETS), required=True)
    m.add_argument("--phase", required=True)
    m.add_argument("--urls", required=True, help="sluice,influxdb,victoria-metrics base URLs")
    m.add_argument("--pids", required=True)
    m.add_argument("--dirs", required=True)
    m.add_argument("--db", default="bench")
    m.add_argument("--runs", type=int, default=25)
    m.add_argument("--warmup", type=int, default=3)
    m.add_argument("--light-runs", type=int, default=300)
    m.add_argument("--only", default="", help="comma-separated query ids")
    m.add_argument("--out", required=True)
    m.add_argument("--out-dir", required=True)
    r = sub.add_parser("report")
    r.add_argument("--stamp", required=True)
    r.add_argument("--command", dest="command_line", default="tools/bench_query.sh")
    r.add_argument("--out-dir", required=True)
    r.add_argument("--load-files", nargs="*", default=[])
    r.add_argument("phase_files", nargs="+")
    sub.add_parser("queries")
    sub.add_parser("selftest")
    args = parser.parse_args()
    if args.command == "measure":
        return measure(args)
    if args.command == "report":
        args.command = args.command_line
        return report(args)
    if args.command == "selftest":
        return selftest()
    print(queries_table(list(SETS)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
