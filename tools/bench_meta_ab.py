#!/usr/bin/env python3
"""bench_meta_ab.py: meta-change latency of two Sluice binaries, A and B, side by side.

Usage: tools/bench_meta_ab.py A_BINARY B_BINARY [ROUNDS]

For each round the two binaries run one after the other (order alternating every round),
each on a fresh directory: 200 `CREATE DATABASE` statements (each a meta change: one
meta.db write before, plus one Raft log fsync with the replicated meta store), then 200
single-point writes each into a new week (each creates a shard group: the partition thread
waits for the meta change), one request at a time over one keep-alive connection. Prints
the median per-operation latency of each side, per round, and the B/A ratio of the medians.
"""
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

OPERATIONS = 200
WEEK_NS = 7 * 24 * 3600 * 10**9


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_side(binary):
    root = tempfile.mkdtemp(prefix="bench-meta-")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLUICE_HTTP_BIND_ADDRESS": f"127.0.0.1:{port}",
        "SLUICE_BIND_ADDRESS": "127.0.0.1:0",
        "SLUICE_ADMIN_BIND_ADDRESS": "127.0.0.1:0",
        "SLUICE_META_BIND_ADDRESS": "127.0.0.1:0",
        "SLUICE_META_DIR": f"{root}/meta",
        "SLUICE_DATA_DIR": f"{root}/data",
        "SLUICE_DATA_WAL_DIR": f"{root}/wal",
        "SLUICE_MONITOR_STORE_ENABLED": "false",
        "SLUICE_HTTP_WORKERS": "1",
        "SLUICE_DATA_WAL_PARTITIONS": "1",
    }
    server = subprocess.Popen([binary, "run"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 30
        while True:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                connection.request("GET", "/ping")
                connection.getresponse().read()
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.05)

        def timed(method, path, body):
            started = time.perf_counter()
            connection.request(method, path, body=body,
                               headers={"Content-Type": "application/x-www-form-urlencoded"})
            response = connection.getresponse()
            text = response.read()
            assert response.status in (200, 204), (response.status, text)
            assert b"error" not in text, text
            return time.perf_counter() - started

        ddl = [timed("POST", "/query", urllib.parse.urlencode({"q": f"CREATE DATABASE d{i}"}))
               for i in range(OPERATIONS)]
        groups = [timed("POST", "/write?db=d0", f"m v=1 {i * WEEK_NS}".encode())
                  for i in range(OPERATIONS)]
        return statistics.median(ddl), statistics.median(groups)
    finally:
        server.terminate()
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


def main():
    binary_a, binary_b = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 3
    results = {"A": [], "B": []}
    for round_index in range(rounds):
        order = [("A", binary_a), ("B", binary_b)]
        if round_index % 2:
            order.reverse()
        for side, binary in order:
            ddl, group = run_side(binary)
            results[side].append((ddl, group))
            print(f"round {round_index + 1} {side}: CREATE DATABASE median {ddl * 1000:.2f} ms, "
                  f"write creating a shard group median {group * 1000:.2f} ms", flush=True)
    for column, name in ((0, "CREATE DATABASE"), (1, "write creating a shard group")):
        a = statistics.median(r[column] for r in results["A"])
        b = statistics.median(r[column] for r in results["B"])
        print(f"{name}: A {a * 1000:.2f} ms, B {b * 1000:.2f} ms, B/A {b / a:.2f}")


if __name__ == "__main__":
    main()
