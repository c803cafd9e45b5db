#!/usr/bin/env python3
"""Record the golden /query corpus from the real InfluxDB 1.6.7 (`/usr/bin/influxd`).

Usage: python3 tools/record_query_golden.py [--cases tests/golden/query/cases.py]
           [--out-dir tests/golden/query] [--only SUBSTRING] [--keep-tmp]

What it does:
  1. Makes a temporary directory, writes the config below into it (data, meta and WAL under
     that directory; HTTP on 127.0.0.1:18700, RPC bind address 127.0.0.1:18701; no
     `_internal` monitor database, no usage reporting, no retention enforcement, no shard
     precreation) and starts `influxd run -config ...`; waits for GET /ping to answer 204.
  2. Turns every dataset of the case file (`DATASETS`) into its load steps (the exact
     requests that create its databases and retention policies and write its points) and
     writes them to `<out-dir>/datasets.json`.
  3. Walks `CASES` in order. Before a case it loads the case's dataset fresh when another
     dataset is loaded or the previous case changed state (`mutates`): it drops every
     database `SHOW DATABASES` lists, then sends the dataset's load steps. The case request
     is sent and its answer recorded: status, `Content-Type`, `Transfer-Encoding` (when the
     answer was chunked) and the body, de-chunked, byte for byte.
  4. Stops influxd and writes `<out-dir>/answers.jsonl` (one JSON object per case).

The replay test (tests/golden_query.rs) follows exactly the same load/reload rule, so
anything that depends on the order of server-side events (shard ids) is reproduced too.
Python 3 standard library only.
"""

import argparse
import http.client
import json
import os
import re
import runpy
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_CASES_PATH = os.path.join(REPO_ROOT, "tests", "golden", "query", "cases.py")
DEFAULT_OUT_DIR = os.path.join(REPO_ROOT, "tests", "golden", "query")
ANSWERS_FILE_NAME = "answers.jsonl"
DATASETS_FILE_NAME = "datasets.json"
INFLUXD_PATH = "/usr/bin/influxd"

HTTP_HOST = "127.0.0.1"
HTTP_PORT = 18700
# influxd's GOMAXPROCS (see start_influxd)
GOMAXPROCS = 2
RPC_BIND_ADDRESS = "127.0.0.1:18701"
STARTUP_TIMEOUT_SECONDS = 30.0
STARTUP_POLL_SECONDS = 0.1
REQUEST_TIMEOUT_SECONDS = 30.0
SHUTDOWN_TIMEOUT_SECONDS = 20.0
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
BARE_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

CONFIG_TEMPLATE = """\
reporting-disabled = true
bind-address = "@RPC@"

[meta]
  dir = "@TMPDIR@/meta"
  retention-autocreate = true
  logging-enabled = false

[data]
  dir = "@TMPDIR@/data"
  wal-dir = "@TMPDIR@/wal"
  index-version = "inmem"
  wal-fsync-delay = "0s"
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  write-timeout = "10s"
  max-select-point = 0
  max-select-series = 0
  max-select-buckets = 0

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[http]
  enabled = true
  bind-address = "@HTTP@"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  write-tracing = false
  pprof-enabled = false
  https-enabled = false
  max-row-limit = 0
  max-connection-limit = 0
  unix-socket-enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[logging]
  format = "auto"
  level = "error"
  suppress-logo = true
"""

# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------


def send(method, target, headers=(), body=None):
    """One request on a fresh connection; returns (status, headers dict lowercased, body)."""
    conn = http.client.HTTPConnection(HTTP_HOST, HTTP_PORT, timeout=REQUEST_TIMEOUT_SECONDS)
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
        data = response.read()
        header_map = {}
        for name, value in response.getheaders():
            header_map[name.lower()] = value
        return response.status, header_map, data
    finally:
        conn.close()


def form_query(statement):
    return "q=" + urllib.parse.quote(statement, safe="")


def post_query(statement):
    status, _headers, body = send("POST", "/query", [["Content-Type", FORM_CONTENT_TYPE]],
                                  form_query(statement))
    return status, body


# ---------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------


def quote_ident(name):
    """An InfluxQL identifier: bare when it can be, else double-quoted."""
    if BARE_IDENTIFIER.fullmatch(name):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def dataset_steps(dataset):
    """The requests that build a dataset on an empty server: [method, target, body]."""
    steps = []
    for database in dataset.get("databases", []):
        steps.append(["POST", "/query", form_query("CREATE DATABASE " + quote_ident(
            database["name"]))])
        for rp in database.get("retention_policies", []):
            text = "CREATE RETENTION POLICY %s ON %s DURATION %s REPLICATION 1" % (
                quote_ident(rp["name"]), quote_ident(database["name"]), rp["duration"])
            if rp.get("shard_duration"):
                text += " SHARD DURATION " + rp["shard_duration"]
            if rp.get("default"):
                text += " DEFAULT"
            steps.append(["POST", "/query", form_query(text)])
    for batch in dataset.get("writes", []):
        params = [("db", batch["db"])]
        if batch.get("rp"):
            params.append(("rp", batch["rp"]))
        params.append(("precision", batch.get("precision", "ns")))
        target = "/write?" + urllib.parse.urlencode(params)
        steps.append(["POST", target, "\n".join(batch["lines"]) + "\n"])
    return steps


def clear_server():
    """Drops every database SHOW DATABASES lists."""
    status, body = post_query("SHOW DATABASES")
    if status != 200:
        raise RuntimeError("SHOW DATABASES answered %d %r" % (status, body))
    answer = json.loads(body)
    for series in answer["results"][0].get("series", []):
        for row in series.get("values", []):
            drop_status, drop_body = post_query("DROP DATABASE " + quote_ident(row[0]))
            if drop_status != 200 or b'"error"' in drop_body:
                raise RuntimeError("DROP DATABASE %s: %r" % (row[0], drop_body))


def load_dataset(name, steps):
    clear_server()
    for method, target, body in steps:
        status, _headers, answer = send(method, target,
                                        [["Content-Type", FORM_CONTENT_TYPE]]
                                        if target.startswith("/query") else [], body)
        if status not in (200, 204) or b'"error"' in answer:
            raise RuntimeError("dataset %s: %s %s answered %d %r" % (
                name, method, target, status, answer))


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------


def record_case(case):
    request = case["request"]
    method = request.get("method", "GET")
    headers = [list(h) for h in request.get("headers", [])]
    body = request.get("body")
    status, header_map, data = send(method, request["target"], headers, body)
    response = {"status": status}
    if "content-type" in header_map:
        response["content_type"] = header_map["content-type"]
    if "transfer-encoding" in header_map:
        response["transfer_encoding"] = header_map["transfer-encoding"]
    try:
        response["body"] = data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise RuntimeError("case %s: body is not UTF-8" % case["name"]) from error
    record = {"name": case["name"], "dataset": case["dataset"]}
    if case.get("mutates"):
        record["mutates"] = True
    if case.get("note"):
        record["note"] = case["note"]
    out_request = {"method": method, "target": request["target"]}
    if headers:
        out_request["headers"] = headers
    if body is not None:
        out_request["body"] = body
    record["request"] = out_request
    record["response"] = response
    return record


def record_all(cases, steps_by_dataset):
    results = []
    loaded = None
    for case in cases:
        if loaded != case["dataset"]:
            load_dataset(case["dataset"], steps_by_dataset[case["dataset"]])
            loaded = case["dataset"]
        results.append(record_case(case))
        if case.get("mutates"):
            loaded = None
    return results


def check_cases(cases, datasets):
    names = set()
    for case in cases:
        if case["name"] in names:
            raise ValueError("duplicate case name %s" % case["name"])
        names.add(case["name"])
        if case["dataset"] not in datasets:
            raise ValueError("case %s: unknown dataset %s" % (case["name"], case["dataset"]))


# ---------------------------------------------------------------------------
# influxd lifecycle
# ---------------------------------------------------------------------------


def start_influxd(tmp_dir):
    config = (CONFIG_TEMPLATE.replace("@TMPDIR@", tmp_dir)
              .replace("@HTTP@", "%s:%d" % (HTTP_HOST, HTTP_PORT))
              .replace("@RPC@", RPC_BIND_ADDRESS))
    config_path = os.path.join(tmp_dir, "influxdb.conf")
    with open(config_path, "w", encoding="utf-8") as out:
        out.write(config)
    log = open(os.path.join(tmp_dir, "influxd.log"), "wb")
    # GOMAXPROCS 2: the number of groups 1.6.7's parallel merge folds sum()/mean() partials
    # in, so the last bits of those answers (the tests run Sluice with the same 2).
    env = dict(os.environ, GOMAXPROCS=str(GOMAXPROCS))
    proc = subprocess.Popen([INFLUXD_PATH, "run", "-config", config_path],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("influxd exited early; see %s/influxd.log" % tmp_dir)
        try:
            if send("GET", "/ping")[0] == 204:
                return proc
        except OSError:
            pass
        time.sleep(STARTUP_POLL_SECONDS)
    proc.kill()
    raise RuntimeError("influxd did not answer /ping in time")


def stop_influxd(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    global HTTP_PORT, RPC_BIND_ADDRESS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=DEFAULT_CASES_PATH)
    parser.add_argument("--out-dir", default=DEFAULT_OUT_DIR)
    parser.add_argument("--only", default=None,
                        help="record only cases whose name contains this (shard ids may then "
                             "differ from a full run)")
    parser.add_argument("--keep-tmp", action="store_true")
    parser.add_argument("--port", type=int, default=HTTP_PORT,
                        help="HTTP port of influxd (the RPC port is the next one)")
    args = parser.parse_args()
    HTTP_PORT = args.port
    RPC_BIND_ADDRESS = "%s:%d" % (HTTP_HOST, args.port + 1)
    definitions = runpy.run_path(args.cases)
    datasets, cases = definitions["DATASETS"], definitions["CASES"]
    check_cases(cases, datasets)
    if args.only:
        cases = [c for c in cases if args.only in c["name"]]
    steps_by_dataset = {name: dataset_steps(ds) for name, ds in datasets.items()}
    tmp_dir = tempfile.mkdtemp(prefix="golden-query-influxd-")
    proc = start_influxd(tmp_dir)
    try:
        results = record_all(cases, steps_by_dataset)
    finally:
        stop_influxd(proc)
        if args.keep_tmp:
            print("kept %s" % tmp_dir, file=sys.stderr)
        else:
            shutil.rmtree(tmp_dir, ignore_errors=True)
    os.makedirs(args.out_dir, exist_ok=True)
    with open(os.path.join(args.out_dir, DATASETS_FILE_NAME), "w", encoding="utf-8") as out:
        json.dump({name: {"steps": steps} for name, steps in sorted(steps_by_dataset.items())},
                  out, ensure_ascii=False, indent=1, sort_keys=True)
        out.write("\n")
    with open(os.path.join(args.out_dir, ANSWERS_FILE_NAME), "w", encoding="utf-8") as out:
        for result in results:
            out.write(json.dumps(result, ensure_ascii=False) + "\n")
    print("recorded %d cases into %s" % (len(results), args.out_dir))


if __name__ == "__main__":
    main()
