#!/usr/bin/env python3
"""Record the InfluxQL parse corpus from the real InfluxDB 1.6.7 (`/usr/bin/influxd`).

Usage: python3 tools/record_influxql_corpus.py [--queries crates/sluice-influxql/tests/influxql/queries.txt]
                                               [--out crates/sluice-influxql/tests/influxql/parse_errors.txt]
                                               [--selects crates/sluice-influxql/tests/influxql/printed_selects.txt]
                                               [--printed-out crates/sluice-influxql/tests/influxql/printed.txt]

What it does:
  1. Starts `influxd run` with its own config: data, meta and WAL under a fresh
     /tmp/iq-corpus-<pid> directory, HTTP on 127.0.0.1:18600, RPC on 127.0.0.1:18601,
     reporting disabled. Waits for GET /ping to answer 204, then creates database `db0`.
  2. For every query line of the query list (blank lines and `#` lines are copied to the
     output as they are; in query text `\\u{HEX}` stands for that character), sends
     GET /query?db=db0&q=<query> and records the answer:
       * 400 with {"error":"error parsing query: X"}  ->  `error: X`
       * 200 with {"results": [...]}                   ->  `ok: <number of results>`
         (200 with `{}` for a query without statements is `ok: 0`)
     Anything else stops the recorder with an error.
  3. Records InfluxDB's printed (canonical) form of each SELECT of the select list: it
     creates `CREATE CONTINUOUS QUERY cqN ON pdb BEGIN <select> END` in its own
     database `pdb` (before the query list runs, so nothing has changed its default
     retention policy), reads the text SHOW CONTINUOUS QUERIES prints for it (the
     statement's String(), with every measurement's database and retention policy filled
     in as pdb.autogen), and drops it.
     Output: `select: <text>` then `printed: <text>` (or `error: <message>`).
  4. Stops influxd and writes both files in the format `corpus_tests.rs` reads.

Queries are executed, so write statements change the recorder's throw-away server; the
list avoids statements whose execution would make later answers depend on order.
"""

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_QUERIES_PATH = os.path.join(REPO_ROOT, "crates", "sluice-influxql", "tests", "influxql", "queries.txt")
DEFAULT_OUT_PATH = os.path.join(REPO_ROOT, "crates", "sluice-influxql", "tests", "influxql", "parse_errors.txt")
DEFAULT_SELECTS_PATH = os.path.join(REPO_ROOT, "crates", "sluice-influxql", "tests", "influxql", "printed_selects.txt")
DEFAULT_PRINTED_OUT_PATH = os.path.join(REPO_ROOT, "crates", "sluice-influxql", "tests", "influxql", "printed.txt")
HTTP_ADDRESS = "127.0.0.1:18600"
RPC_ADDRESS = "127.0.0.1:18601"
START_TIMEOUT_S = 30
REQUEST_TIMEOUT_S = 30
PARSE_ERROR_PREFIX = "error parsing query: "

CONFIG = """reporting-disabled = true
bind-address = "{rpc}"
[meta]
  dir = "{tmp}/meta"
  logging-enabled = false
[data]
  dir = "{tmp}/data"
  wal-dir = "{tmp}/wal"
  index-version = "inmem"
  query-log-enabled = false
[retention]
  enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  enabled = true
  bind-address = "{http}"
  log-enabled = false
[logging]
  level = "error"
  suppress-logo = true
"""

HEADER = """# InfluxQL parse corpus, recorded from influxd 1.6.7 (GET /query?q=...) by
# tools/record_influxql_corpus.py from crates/sluice-influxql/tests/influxql/queries.txt. Do not edit by hand:
# edit the query list and re-record.
#
# Each case: a `query: <text>` line, then `error: <message>` (the text after "error
# parsing query: " in InfluxDB's {"error": ...} body; most end in "at line L, char C") or
# `ok: <N>` (the query parsed; N = number of statements, i.e. entries in "results"). In
# query text `\\u{HEX}` stands for that character (newline, CR, tab, NUL, ...); everything
# else, backslashes included, is literal. InfluxDB's HTTP handler trims surrounding
# whitespace from `q` before parsing, so the test trims too.
"""


def decode_query(raw):
    """Turns `\\u{HEX}` escapes into characters; everything else is literal."""
    out = []
    index = 0
    while True:
        found = raw.find("\\u{", index)
        if found < 0:
            out.append(raw[index:])
            return "".join(out)
        out.append(raw[index:found])
        close = raw.index("}", found)
        out.append(chr(int(raw[found + 3:close], 16)))
        index = close + 1


def request(path, params):
    url = "http://%s%s?%s" % (HTTP_ADDRESS, path, urllib.parse.urlencode(params))
    try:
        with urllib.request.urlopen(url, timeout=REQUEST_TIMEOUT_S) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def wait_for_ping():
    deadline = time.time() + START_TIMEOUT_S
    while time.time() < deadline:
        try:
            if request("/ping", {})[0] == 204:
                return
        except OSError:
            pass
        time.sleep(0.1)
    sys.exit("influxd did not answer /ping in time")


def record(raw):
    status, body = request("/query", {"db": "db0", "q": decode_query(raw)})
    answer = json.loads(body)
    if status == 400 and answer.get("error", "").startswith(PARSE_ERROR_PREFIX):
        return "error: " + answer["error"][len(PARSE_ERROR_PREFIX):]
    if status == 200:
        return "ok: %d" % len(answer.get("results", []))
    sys.exit("unexpected answer to %r: %d %s" % (raw, status, body))


PRINTED_HEADER = """# InfluxQL printed forms, recorded from influxd 1.6.7 by
# tools/record_influxql_corpus.py from crates/sluice-influxql/tests/influxql/printed_selects.txt. Do not edit by
# hand.
#
# Each case: `select: <SELECT text>` then `printed: <text>`, what SHOW CONTINUOUS QUERIES
# shows between BEGIN and END for `CREATE CONTINUOUS QUERY cq ON pdb BEGIN <select> END`
# (InfluxDB fills in pdb.autogen on every measurement before printing).
"""

PRINTED_DATABASE = "pdb"
CQ_PREFIX_FORMAT = "CREATE CONTINUOUS QUERY %s ON pdb BEGIN "
CQ_SUFFIX = " END"


def post(text):
    data = urllib.parse.urlencode({"db": PRINTED_DATABASE, "q": text}).encode()
    url = "http://%s/query" % HTTP_ADDRESS
    try:
        with urllib.request.urlopen(url, data=data, timeout=REQUEST_TIMEOUT_S) as answer:
            return json.loads(answer.read().decode())
    except urllib.error.HTTPError as error:
        return json.loads(error.read().decode())


def record_printed(index, select):
    name = "cq%d" % index
    created = post(CQ_PREFIX_FORMAT % name + select + CQ_SUFFIX)
    if "error" in created:
        return "error: " + created["error"]
    statement_error = created["results"][0].get("error")
    if statement_error:
        return "error: " + statement_error
    shown = post("SHOW CONTINUOUS QUERIES")
    post("DROP CONTINUOUS QUERY %s ON %s" % (name, PRINTED_DATABASE))
    for series in shown["results"][0].get("series", []):
        for row in series.get("values", []):
            if row[0] == name:
                text = row[1]
                prefix = CQ_PREFIX_FORMAT % name
                if not (text.startswith(prefix) and text.endswith(CQ_SUFFIX)):
                    sys.exit("unexpected CQ text %r" % text)
                return "printed: " + text[len(prefix):-len(CQ_SUFFIX)]
    sys.exit("continuous query for %r not shown" % select)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", default=DEFAULT_QUERIES_PATH)
    parser.add_argument("--out", default=DEFAULT_OUT_PATH)
    parser.add_argument("--selects", default=DEFAULT_SELECTS_PATH)
    parser.add_argument("--printed-out", default=DEFAULT_PRINTED_OUT_PATH)
    args = parser.parse_args()
    with open(args.queries, encoding="utf-8") as queries_file:
        lines = queries_file.read().splitlines()
    with open(args.selects, encoding="utf-8") as selects_file:
        selects = [line for line in selects_file.read().splitlines()
                   if line.strip() and not line.startswith("#")]

    tmp = "/tmp/iq-corpus-%d" % os.getpid()
    os.makedirs(tmp)
    config_path = os.path.join(tmp, "influxd.conf")
    with open(config_path, "w", encoding="utf-8") as config_file:
        config_file.write(CONFIG.format(tmp=tmp, http=HTTP_ADDRESS, rpc=RPC_ADDRESS))
    server = subprocess.Popen(["/usr/bin/influxd", "run", "-config", config_path],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_ping()
        request("/query", {"q": "CREATE DATABASE db0"})
        request("/query", {"q": "CREATE DATABASE " + PRINTED_DATABASE})
        printed = [PRINTED_HEADER]
        for index, select in enumerate(selects):
            printed.append("\nselect: %s\n%s\n" % (select, record_printed(index, select)))
        out = [HEADER]
        cases = 0
        for line in lines:
            if not line.strip() or line.startswith("#"):
                out.append(line + "\n")
                continue
            out.append("query: %s\n%s\n\n" % (line, record(line)))
            cases += 1
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=START_TIMEOUT_S)
        shutil.rmtree(tmp, ignore_errors=True)
    with open(args.out, "w", encoding="utf-8") as out_file:
        out_file.write("".join(out))
    with open(args.printed_out, "w", encoding="utf-8") as printed_file:
        printed_file.write("".join(printed))
    print("recorded %d cases into %s, %d printed forms into %s"
          % (cases, args.out, len(selects), args.printed_out))


if __name__ == "__main__":
    main()
