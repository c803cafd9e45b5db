#!/usr/bin/env python3
"""Measures what gzip /write bodies that inflate far past their size cost a Sluice server.

Starts the given `sluice` binary on a free loopback port with a fresh directory, creates a
database, and sends CONCURRENT copies of one gzip body (a block of distinct lines repeated
until the inflated body reaches INFLATED_MB; the block fits DEFLATE's 32 KiB window, so the
body compresses about 650:1, as an attacker's would) at once. Meanwhile a prober opens a
fresh connection for each `/ping`, every 10 ms, and times the answer. Reports, as one JSON
line on stdout: each write's status and time, the server's peak RSS (VmHWM, read while it
runs), the /ping latencies during the writes, and the points the WAL partitions made durable.

Usage: tools/bench_gzip_bomb.py BINARY [--inflated-mb 200] [--concurrent 1]
                                [--block-lines 50] [--env KEY=VALUE ...]
       tools/bench_gzip_bomb.py BINARY --body string-line|tags-line|unbalanced
                                [--inflated-mb 24] [--plain]
The second form sends one huge line instead (a 24 MB line fits a body sent as is).
Used for PERFORMANCE.md's "Hostile clients" figures; tests/hostile_clients.rs checks the
same bounds against the debug binary.
"""

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import zlib

def body_block(block_lines):
    lines = [f"bomb,host=h{i:04d},region=r{i % 7} v={i}i,w=1.5 {1_700_000_000_000_000_000 + i}\n"
             for i in range(block_lines)]
    return "".join(lines).encode()


def gzip_body(inflated_bytes, block_lines):
    block = body_block(block_lines)
    repeats = max(1, inflated_bytes // len(block))
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    parts = [deflate.compress(block) for _ in range(repeats)]
    parts.append(deflate.flush())
    return b"".join(parts), repeats * block_lines, repeats * len(block)


def huge_line_body(kind, size_bytes):
    """One line of about `size_bytes`: a valid line with one long string, a line of so many
    tags that its key is too long, or an unbalanced quote that takes every line after it."""
    if kind == "string-line":
        return b'm,h=a s="' + b"x" * size_bytes + b'" 1\n', 1
    if kind == "tags-line":
        tags = b",".join(b"t%07d=v" % i for i in range(size_bytes // 11))
        return b"m," + tags + b" v=1 1\n", 1
    lines = size_bytes // 13
    return b'm v="abc 1\n' + b"m,h=a v=1i 1\n" * lines, lines + 1


def gzip_whole(raw):
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)
    return deflate.compress(raw) + deflate.flush()


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(port, method, target, body=b"", headers=(), timeout=600):
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for name, value in headers:
        head += f"{name}: {value}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as connection:
        connection.sendall(head.encode() + body)
        answer = b""
        while True:
            chunk = connection.recv(65536)
            if not chunk:
                break
            answer += chunk
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, answer.split(b"\r\n\r\n", 1)[-1]


def status_kib(pid, key):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def percentile(values, fraction):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--inflated-mb", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=1)
    parser.add_argument("--block-lines", type=int, default=50,
                        help="distinct lines repeated to make the body (its points overwrite)")
    parser.add_argument("--body", choices=["bomb", "string-line", "tags-line", "unbalanced"],
                        default="bomb",
                        help="bomb: the repeated block; the others: one line of --inflated-mb")
    parser.add_argument("--plain", action="store_true", help="send the body as is, not gzip")
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()

    if args.body == "bomb":
        body, lines, inflated = gzip_body(args.inflated_mb * 1_000_000, args.block_lines)
        if args.plain:
            sys.exit("--plain is for the huge-line bodies (a plain body is at most max-body-size)")
    else:
        raw, lines = huge_line_body(args.body, args.inflated_mb * 1_000_000)
        inflated = len(raw)
        body = raw if args.plain else gzip_whole(raw)
    directory = tempfile.mkdtemp(prefix="sluice-gzip-bomb-")
    port = free_port()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLUICE_HTTP_BIND_ADDRESS": f"127.0.0.1:{port}",
        "SLUICE_BIND_ADDRESS": "127.0.0.1:0",
        "SLUICE_META_DIR": f"{directory}/meta",
        "SLUICE_DATA_DIR": f"{directory}/data",
        "SLUICE_DATA_WAL_DIR": f"{directory}/wal",
        "SLUICE_HTTP_WORKERS": "2",
        "SLUICE_DATA_WAL_PARTITIONS": "2",
    }
    for pair in args.env:
        key, value = pair.split("=", 1)
        env[key] = value
    server = subprocess.Popen([args.binary, "run"], env=env, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while True:
            try:
                if http(port, "GET", "/ping", timeout=2)[0] == 204:
                    break
            except OSError:
                pass
            if time.time() > deadline or server.poll() is not None:
                sys.exit("server did not start")
            time.sleep(0.05)
        http(port, "POST", "/query", b"q=CREATE+DATABASE+bomb",
             [("Content-Type", "application/x-www-form-urlencoded")])
        # The block's series exist before the big writes (as after any earlier write): a
        # request bringing more points of new series than max-series-per-database allows
        # would have them all dropped (InfluxDB 1.6.7 counts each point of a new series).
        if args.body == "bomb":
            status, _ = http(port, "POST", "/write?db=bomb", body_block(args.block_lines))
            if status != 204:
                sys.exit(f"warm-up write answered {status}")
        idle_rss_kib = status_kib(server.pid, "VmRSS")

        results = [None] * args.concurrent
        done = threading.Event()

        def write(index):
            started = time.time()
            encoding = [] if args.plain else [("Content-Encoding", "gzip")]
            status, text = http(port, "POST", "/write?db=bomb", body, encoding)
            results[index] = {"status": status, "seconds": round(time.time() - started, 2),
                              "error": text.decode(errors="replace")[:200]}

        pings = []

        def probe():
            while not done.is_set():
                started = time.time()
                try:
                    status, _ = http(port, "GET", "/ping", timeout=30)
                except OSError:
                    status = 0
                pings.append((time.time() - started) * 1000 if status == 204 else 30_000)
                time.sleep(0.01)

        prober = threading.Thread(target=probe)
        writers = [threading.Thread(target=write, args=(i,)) for i in range(args.concurrent)]
        started = time.time()
        prober.start()
        for writer in writers:
            writer.start()
        peak_kib = 0
        while any(writer.is_alive() for writer in writers):
            peak_kib = max(peak_kib, status_kib(server.pid, "VmHWM"))
            time.sleep(0.05)
        elapsed = time.time() - started
        done.set()
        prober.join()
        peak_kib = max(peak_kib, status_kib(server.pid, "VmHWM"))
        _, vars_body = http(port, "GET", "/debug/vars")
        durable = sum(p["points"] for p in json.loads(vars_body)["sluice"]["partitions"]) \
            if b"partitions" in vars_body else None
        print(json.dumps({
            "binary": args.binary,
            "body": args.body + (" (plain)" if args.plain else " (gzip)"),
            "gzip_bytes": len(body),
            "inflated_bytes": inflated,
            "lines_per_body": lines,
            "concurrent": args.concurrent,
            "writes": results,
            "seconds_all": round(elapsed, 2),
            "idle_rss_mib": idle_rss_kib // 1024,
            "peak_rss_mib": peak_kib // 1024,
            "points_durable": durable,
            "points_sent": lines * args.concurrent
            + (args.block_lines if args.body == "bomb" else 0),
            "pings": len(pings),
            "ping_ms_p50": round(percentile(pings, 0.50) or 0, 2),
            "ping_ms_p99": round(percentile(pings, 0.99) or 0, 2),
            "ping_ms_max": round(max(pings) if pings else 0, 2),
        }))
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
