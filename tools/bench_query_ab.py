#!/usr/bin/env python3
"""bench_query_ab.py: query latency of two (or more) Sluice binaries on the same data, side by side.

Usage: tools/bench_query_ab.py PHASE RUNS BINARY_A [BINARY_B ...]
  PHASE  fresh      query 3 s after the load: points in the caches and level-0 files
         compacted  wait until every shard is one fully compacted (-l4) file and no WAL
                    segment holds a record (cold duration 5 s)
  RUNS   timed runs per query and binary

Starts every binary on loopback (ports 18990, 18991, ...; data in a temporary directory,
deleted afterwards), loads each with tools/sluice-load the data set of tools/bench_query.sh
(100 hosts x 10 float fields, one point per 10 s for 24 h: 8.64 M values), then for each
query checks that every binary answers the same bytes and times RUNS runs per binary,
interleaved (the order flipping every round), over one keep-alive socket each. Prints the
median milliseconds per binary and each binary's ratio to the first. HOLD=SECONDS keeps
the servers up afterwards (for perf record -g -p PID). Build first:
  cargo build --release --bin sluice --bin sluice-load
Use it to compare a branch's release binary with main's (a copy of target/release/sluice
kept from before the change); tools/bench_query.sh compares with InfluxDB.
"""

import json, os, shutil, signal, socket, subprocess, sys, tempfile, time, urllib.parse, urllib.request
phase, runs, bins = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LOAD = os.path.join(os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release", "sluice-load")
QUERIES = [
    "SELECT last(f0) FROM m GROUP BY host",
    "SELECT count(*) FROM m",
    "SELECT max(f0) FROM m WHERE time >= '2020-09-13T12:26:40Z' AND time < '2020-09-14T12:26:40Z' GROUP BY time(1h), host",
    "SELECT max(f0) FROM m WHERE time >= '2020-09-13T00:00:00Z' AND time < '2020-09-15T00:00:00Z' GROUP BY time(1d), host",
    "SELECT min(f0), max(f0) FROM m GROUP BY host",
    "SELECT mean(f0) FROM m WHERE region = 'r3' AND time >= '2020-09-13T18:00:00Z' AND time < '2020-09-14T00:00:00Z' GROUP BY time(5m)",
    "SELECT mean(f0) FROM m WHERE time >= '2020-09-13T00:00:00Z' AND time < '2020-09-15T00:00:00Z' GROUP BY time(1d)",
]
if os.environ.get("AB_QUERIES"):
    QUERIES = [QUERIES[int(i)] for i in os.environ["AB_QUERIES"].split(",")]
root = tempfile.mkdtemp(prefix="qstats-ab-", dir="/tmp")
procs = []
def start(i, binary):
    d = f"{root}/s{i}"; os.makedirs(d)
    port = 18990 + i
    env = dict(os.environ, SLUICE_BIND_ADDRESS="127.0.0.1:0", SLUICE_HTTP_BIND_ADDRESS=f"127.0.0.1:{port}",
               SLUICE_DATA_DIR=f"{d}/data", SLUICE_META_DIR=f"{d}/meta", SLUICE_DATA_WAL_DIR=f"{d}/wal",
               SLUICE_DATA_WAL_FSYNC_DELAY="0s")
    if phase == "compacted":
        env["SLUICE_DATA_CACHE_SNAPSHOT_WRITE_COLD_DURATION"] = "5s"
    p = subprocess.Popen([binary, "run"], env=env, stdout=open(f"{d}/log", "w"), stderr=subprocess.STDOUT)
    procs.append(p)
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            urllib.request.urlopen(url + "/ping"); break
        except Exception: time.sleep(0.1)
    return url, port, d
def settled(d):
    import glob
    for w in glob.glob(f"{d}/wal/*/*.wal"):
        if os.path.getsize(w) > 16: return False
    shards = glob.glob(f"{d}/data/[0-9]*/")
    if not shards: return False
    for s in shards:
        f = glob.glob(s + "*.tsm")
        if len(f) != 1 or not f[0].endswith("-l4.tsm"): return False
    return True
try:
    servers = [start(i, b) for i, b in enumerate(bins)]
    for url, port, d in servers:
        t = time.time()
        subprocess.run([LOAD, "--url", url, "--db", "bench", "--create-db", "--measurement", "m", "--series", "100",
                        "--fields", "10", "--batch-lines", "4800", "--batches", "180", "--connections", "2",
                        "--duration", "3600s", "--timestamps", "explicit", "--interval", "10s", "--quiet"],
                       check=True, stdout=subprocess.DEVNULL)
        print(f"loaded {url} in {time.time()-t:.1f}s", file=sys.stderr)
    if phase == "compacted":
        deadline = time.time() + 600
        for url, port, d in servers:
            while not settled(d):
                if time.time() > deadline:
                    raise SystemExit(f"{d} did not settle in 600 s")
                time.sleep(1)
        print("settled", file=sys.stderr)
    else:
        time.sleep(3)
    socks = {}
    def get(i, q):
        url, port, d = servers[i]
        path = "/query?" + urllib.parse.urlencode({"db": "bench", "q": q})
        req = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        s = socks.get(i)
        if s is None:
            s = socks[i] = socket.create_connection(("127.0.0.1", port)); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        t = time.perf_counter(); s.sendall(req); buf = b""
        while b"\r\n\r\n" not in buf: buf += s.recv(65536)
        head, _, rest = buf.partition(b"\r\n\r\n")
        n = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(rest) < n: rest += s.recv(65536)
        return time.perf_counter() - t, rest
    for q in QUERIES:
        bodies = [get(i, q)[1] for i in range(len(servers))]
        same = all(b == bodies[0] for b in bodies)
        lat = [[] for _ in servers]
        for r in range(runs):
            order = range(len(servers)) if r % 2 == 0 else reversed(range(len(servers)))
            for i in order: lat[i].append(get(i, q)[0] * 1000)
        meds = [sorted(l)[len(l)//2] for l in lat]
        print(f"{q[:60]:60} " + " ".join(f"{m:8.2f}" for m in meds) + "  ratio " + " ".join(f"{m/meds[0]:.3f}" for m in meds[1:]) + f" same={same} {len(bodies[0])}B")
    if os.environ.get("HOLD"):
        print("pids", [p.pid for p in procs], file=sys.stderr); sys.stdout.flush()
        time.sleep(int(os.environ["HOLD"]))
finally:
    for p in procs: p.send_signal(signal.SIGTERM)
    for p in procs:
        try: p.wait(60)
        except Exception: p.kill()
    shutil.rmtree(root, ignore_errors=True)
