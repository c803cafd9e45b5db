#!/usr/bin/env python3
"""Differential check of sum()/mean() over many series against InfluxDB 1.6.7, byte for
byte: the last bits of their float answers depend on the order the per-series partials
are added in (1.6.7's parallel merge, see crates/sluice-query/src/select/merge_order.rs).

Loads one seeded dataset of random floats (many digits) and integers into a fresh influxd
and a fresh Sluice: SERIES series over HOURS one-hour shards, some series absent from some
shards, then runs mean()/sum() with GROUP BY time() windows inside and across shards, tag
conditions, GROUP BY tag, ORDER BY time DESC, and prints every statement whose answers
differ. Exit status 1 when any does.

Usage: python3 tools/merge_order_diff.py [--sluice target/debug/sluice] [--seed N]
           [--series N] [--parallelism P] [--influxd-port 18720] [--sluice-port 18722]

influxd runs with GOMAXPROCS=P and Sluice with query-merge-parallelism=P (default: 2).
Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request

TOOLS = os.path.dirname(os.path.abspath(__file__))
DB = "mo"
BASE_S = 1600000000 - 1600000000 % 3600
HOURS = 3
STEP_S = 10


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def request(port, path, data):
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), data) as answer:
            return "%d %s" % (answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return "%d %s" % (error.code, error.read().decode())


def query(port, text):
    return request(port, "/query?db=" + DB, urllib.parse.urlencode({"q": text}).encode())


def dataset(seed, series):
    rng = random.Random(seed)
    lines = []
    for index in range(series):
        host = "h%03d" % index
        region = "r%d" % (index % 4)
        # some series miss an hour (they are then absent from that shard)
        missing = rng.randrange(HOURS + 3)
        for hour in range(HOURS):
            if hour == missing:
                continue
            for step in range(0, 3600, STEP_S):
                at = BASE_S + hour * 3600 + step
                f = rng.uniform(-1000, 1000) * 10 ** rng.randrange(-3, 4)
                i = rng.randrange(-10 ** 12, 10 ** 12)
                lines.append("m,host=%s,region=%s f=%r,i=%di %d" % (host, region, f, i, at))
    return lines


def statements():
    start = "'%s'" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_S))
    end = "'%s'" % time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(BASE_S + HOURS * 3600))
    span = "time >= %s AND time < %s" % (start, end)
    out = []
    for function in ("mean", "sum"):
        for field in ("f", "i"):
            call = "%s(%s)" % (function, field)
            out += [
                "SELECT %s FROM m" % call,
                "SELECT %s FROM m WHERE %s GROUP BY time(5m)" % (call, span),
                "SELECT %s FROM m WHERE %s GROUP BY time(90m)" % (call, span),
                "SELECT %s FROM m WHERE %s GROUP BY time(7m) ORDER BY time DESC" % (call, span),
                "SELECT %s FROM m WHERE region = 'r1' AND %s GROUP BY time(10m)" % (call, span),
                "SELECT %s FROM m WHERE %s GROUP BY time(30m), region" % (call, span),
                "SELECT %s FROM m WHERE host =~ /h0[0-2]/ AND %s GROUP BY time(1h)" % (call, span),
                "SELECT %s FROM m WHERE f > 0 AND %s GROUP BY time(20m)" % (call, span),
            ]
    out.append("SELECT mean(f), sum(f) FROM m WHERE %s GROUP BY time(15m)" % span)
    return out


def write(port, lines):
    for begin in range(0, len(lines), 5000):
        body = "\n".join(lines[begin:begin + 5000]).encode()
        answer = request(port, "/write?db=%s&precision=s" % DB, body)
        if not answer.startswith("204"):
            raise RuntimeError("write to %d: %s" % (port, answer[:200]))


def start_sluice(differ, args, directory):
    """golden_query_diff's Sluice, with query-merge-parallelism set."""
    popen = subprocess.Popen

    def with_parallelism(command, env=None, **kwargs):
        env = dict(env or {})
        env["SLUICE_COORDINATOR_QUERY_MERGE_PARALLELISM"] = str(args.parallelism)
        return popen(command, env=env, **kwargs)

    differ.subprocess.Popen = with_parallelism
    try:
        return differ.start_sluice(args.sluice, args.sluice_port, directory)
    finally:
        differ.subprocess.Popen = popen


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sluice", default="target/debug/sluice")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--series", type=int, default=37)
    parser.add_argument("--parallelism", type=int, default=2)
    parser.add_argument("--influxd-port", type=int, default=18720)
    parser.add_argument("--sluice-port", type=int, default=18722)
    args = parser.parse_args()
    recorder = load_tool("record_query_golden")
    differ = load_tool("golden_query_diff")
    recorder.HTTP_PORT = args.influxd_port
    recorder.RPC_BIND_ADDRESS = "127.0.0.1:%d" % (args.influxd_port + 1)
    recorder.GOMAXPROCS = args.parallelism
    influx_dir = tempfile.mkdtemp(prefix="merge-order-influxd-")
    sluice_dir = tempfile.mkdtemp(prefix="merge-order-sluice-")
    for port in (args.influxd_port, args.sluice_port):
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/ping" % port, timeout=1)
            sys.exit("port %d already answers: stop that server first" % port)
        except OSError:
            pass
    influxd = recorder.start_influxd(influx_dir)
    sluice = None
    try:
        sluice = start_sluice(differ, args, sluice_dir)
        create = "CREATE DATABASE %s WITH SHARD DURATION 1h" % DB
        for port in (args.influxd_port, args.sluice_port):
            query(port, create)
        lines = dataset(args.seed, args.series)
        write(args.influxd_port, lines)
        write(args.sluice_port, lines)
        differ_count = 0
        texts = statements()
        for text in texts:
            expected = query(args.influxd_port, text)
            got = query(args.sluice_port, text)
            if expected != got:
                differ_count += 1
                print("DIFFERS: %s\n  influxd: %s\n  sluice:  %s" % (text, expected[:300], got[:300]))
        print("seed %d, %d series, P=%d: %d of %d statements differ"
              % (args.seed, args.series, args.parallelism, differ_count, len(texts)))
        return 1 if differ_count else 0
    finally:
        recorder.stop_influxd(influxd)
        if sluice is not None:
            sluice.terminate()
            sluice.wait()
        shutil.rmtree(influx_dir, ignore_errors=True)
        shutil.rmtree(sluice_dir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
