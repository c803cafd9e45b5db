#!/usr/bin/env python3
"""Replay the golden /query corpus against a Sluice binary and write every mismatch, with
both answers, for reading (tests/golden_query.rs only says pass or fail, and quotes 300
characters of the first 40 failures).

Usage: python3 tools/golden_query_diff.py [--sluice target/debug/sluice] [--port 18790]
           [--corpus-dir tests/golden/query] [--only SUBSTRING] [--out mismatches.jsonl]

What it does: starts `sluice run` on a temporary directory (HTTP on 127.0.0.1:PORT, two
event loops and two WAL partitions, as the test does), then walks answers.jsonl exactly as
tests/golden_query.rs does (load the case's dataset fresh when another one is loaded or
the previous case changed state: drop every database SHOW DATABASES lists, send the
dataset's steps from datasets.json), sends each case's request and compares status,
Content-Type and body byte for byte. Every mismatch becomes one JSON line in --out:
{"name", "statement" (the decoded q, when there is one), "expected": {"status",
"content_type", "body"}, "got": {...}}. It prints a count of mismatches per case group.
The server is stopped (SIGTERM) and its directory removed at the end.

Python 3 standard library only.
"""

import argparse
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CORPUS_DIR = os.path.join(REPO_ROOT, "tests", "golden", "query")
DEFAULT_SLUICE = os.path.join(REPO_ROOT, "target", "debug", "sluice")
HOST = "127.0.0.1"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
STARTUP_TIMEOUT_SECONDS = 60.0
REQUEST_TIMEOUT_SECONDS = 60.0


def send(port, method, target, headers=(), body=None):
    """One request on a fresh connection: (status, content type or None, body bytes)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT_SECONDS)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        payload = body.encode("utf-8") if body is not None else None
        if payload is not None or method == "POST":
            conn.putheader("Content-Length", str(len(payload or b"")))
        conn.endheaders()
        if payload:
            conn.send(payload)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type"), response.read()
    finally:
        conn.close()


def quote_ident(name):
    if name and (name[0].isalpha() or name[0] == "_") and all(
            c.isascii() and (c.isalnum() or c == "_") for c in name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def post_query(port, statement):
    return send(port, "POST", "/query", [("Content-Type", FORM_CONTENT_TYPE)],
                "q=" + urllib.parse.quote(statement, safe=""))


def load_dataset(port, steps):
    """Clears the server and sends the steps; returns the problems met (as the test does,
    a failed step is reported, not fatal)."""
    problems = []
    status, _type, body = post_query(port, "SHOW DATABASES")
    answer = json.loads(body)
    for series in answer["results"][0].get("series", []):
        for row in series.get("values", []):
            post_query(port, "DROP DATABASE " + quote_ident(row[0]))
    for method, target, body in steps:
        headers = [("Content-Type", FORM_CONTENT_TYPE)] if target.startswith("/query") else []
        status, _type, answer = send(port, method, target, headers, body)
        if not 200 <= status < 300 or b'"error"' in answer:
            problems.append("%s %s answered %d: %r" % (method, target, status, answer[:200]))
    return problems


def statement_of(request):
    """The q parameter of a request (URL or form body), if any."""
    for text in (request["target"].partition("?")[2], request.get("body") or ""):
        values = urllib.parse.parse_qs(text, keep_blank_values=True).get("q")
        if values:
            return values[-1]
    return None


def start_sluice(binary, port, directory):
    env = {key: os.environ[key] for key in ("PATH", "HOME", "TMPDIR") if key in os.environ}
    env.update({
        "SLUICE_HTTP_BIND_ADDRESS": "%s:%d" % (HOST, port),
        "SLUICE_BIND_ADDRESS": "127.0.0.1:0",
        "SLUICE_META_DIR": os.path.join(directory, "meta"),
        "SLUICE_DATA_DIR": os.path.join(directory, "data"),
        "SLUICE_DATA_WAL_DIR": os.path.join(directory, "wal"),
        "SLUICE_HTTP_WORKERS": "2",
        "SLUICE_DATA_WAL_PARTITIONS": "2",
        # As the test: InfluxDB was recorded without `_internal`.
        "SLUICE_MONITOR_STORE_ENABLED": "false",
    })
    log = open(os.path.join(directory, "sluice.log"), "wb")
    proc = subprocess.Popen([binary, "run"], env=env, stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("sluice exited early; see %s/sluice.log" % directory)
        try:
            if send(port, "GET", "/ping")[0] == 204:
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("sluice did not answer /ping in time")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sluice", default=DEFAULT_SLUICE)
    parser.add_argument("--port", type=int, default=18790)
    parser.add_argument("--corpus-dir", default=DEFAULT_CORPUS_DIR)
    parser.add_argument("--only", default=None, help="only cases whose name contains this")
    parser.add_argument("--out", default="mismatches.jsonl")
    args = parser.parse_args()
    with open(os.path.join(args.corpus_dir, "datasets.json"), encoding="utf-8") as f:
        datasets = json.load(f)
    with open(os.path.join(args.corpus_dir, "answers.jsonl"), encoding="utf-8") as f:
        cases = [json.loads(line) for line in f if line.strip()]
    directory = tempfile.mkdtemp(prefix="golden-query-sluice-")
    proc = start_sluice(args.sluice, args.port, directory)
    mismatches, per_group, loaded = [], {}, None
    try:
        for case in cases:
            # Cases left out by --only still change state, so follow the load rule for all.
            if loaded != case["dataset"]:
                for problem in load_dataset(args.port, datasets[case["dataset"]]["steps"]):
                    print("dataset %s: %s" % (case["dataset"], problem), file=sys.stderr)
                loaded = case["dataset"]
            if case.get("mutates"):
                loaded = None
            if args.only and args.only not in case["name"] and not case.get("mutates"):
                continue
            request, expected = case["request"], case["response"]
            status, content_type, body = send(args.port, request["method"], request["target"],
                                              request.get("headers", []), request.get("body"))
            body_text = body.decode("utf-8", errors="replace")
            if (status, content_type, body_text) == (expected["status"],
                                                     expected.get("content_type"),
                                                     expected["body"]):
                continue
            if args.only and args.only not in case["name"]:
                continue
            group = case["name"].split("/")[0]
            per_group[group] = per_group.get(group, 0) + 1
            mismatches.append({
                "name": case["name"],
                "statement": statement_of(request),
                "expected": {"status": expected["status"],
                             "content_type": expected.get("content_type"),
                             "body": expected["body"]},
                "got": {"status": status, "content_type": content_type, "body": body_text},
            })
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(directory, ignore_errors=True)
    with open(args.out, "w", encoding="utf-8") as out:
        for mismatch in mismatches:
            out.write(json.dumps(mismatch, ensure_ascii=False) + "\n")
    print("%d mismatches of %d cases -> %s" % (len(mismatches), len(cases), args.out))
    for group, count in sorted(per_group.items()):
        print("  %-14s %d" % (group, count))


if __name__ == "__main__":
    main()
