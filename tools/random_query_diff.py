#!/usr/bin/env python3
"""Differential test of random InfluxQL against InfluxDB 1.6.7: draw statements from a seed,
send each to a fresh influxd and a fresh Sluice holding the same small dataset, and print
every statement whose answers differ (status and body, byte for byte).

Usage: python3 tools/random_query_diff.py [--sluice target/debug/sluice] [--family F]
           [--seed N] [--count N]

Families:
  select     functions x WHERE x GROUP BY (tags, time, offset) x fill x ORDER x LIMIT/SLIMIT
  subquery   inner query x outer field x WHERE x GROUP BY x ORDER x LIMIT/SLIMIT
  delete     DELETE / DROP SERIES with random tag, `_name`, `_tagKey` and time conditions
             (the dataset is reloaded before each, then read back with SELECT and SHOW SERIES)
  show       SHOW SERIES / TAG KEYS / SERIES CARDINALITY with random conditions

The differences it finds are the raw material of golden cases: a statement that differs is
checked by hand, and the behaviour recorded into tests/golden/query (cases.py, or the
generator tools/gen_query_corpus.py). It is not a test by itself (influxd's sample() is
random, and its integral() GROUP BY tag orders series at random).

influxd runs as tools/record_query_golden.py runs it (port 18700 + 1, temporary directory),
Sluice as tools/golden_query_diff.py does (port 18790). Python 3 standard library only.
"""

import argparse
import importlib.util
import os
import random
import shutil
import tempfile
import urllib.parse
import urllib.request

TOOLS = os.path.dirname(os.path.abspath(__file__))
DB = "rqd"
LINES = "\n".join([
    "g,host=a,region=east f=1 1000", "g,host=b,region=west f=2 2000", "g,host=c f=3 3000",
    "g,host=a,region=east f=4 4000", "g,host=b,region=west f=-1 1500", "g,host=c f=7 2500",
    "g,host=a,region=east f=5 3500", "g,host=b,region=west f=6 4500", "g,host=c f=2 500",
    "x,k=p v=1 1000", "x,k=q,host=a v=2 2500", "g,region=east f=5 3600",
])


def load_tool(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(TOOLS, name + ".py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def query(port, text):
    data = urllib.parse.urlencode({"q": text, "db": DB}).encode()
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d/query" % port, data) as answer:
            return "%d %s" % (answer.status, answer.read().decode())
    except urllib.error.HTTPError as error:
        return "%d %s" % (error.code, error.read().decode())


def reset(port):
    query(port, "DROP DATABASE " + DB)
    query(port, "CREATE DATABASE " + DB)
    request = urllib.request.Request("http://127.0.0.1:%d/write?db=%s&precision=s" % (port, DB),
                                     LINES.encode(), method="POST")
    with urllib.request.urlopen(request) as answer:
        answer.read()


WINDOW = "time >= 0 AND time < 5000s"
FUNCTIONS = ["mean(f)", "max(f)", "min(f)", "sum(f)", "count(f)", "first(f)", "last(f)",
             "median(f)", "spread(f)", "stddev(f)", "mode(f)", "percentile(f, 90)", "top(f, 2)",
             "bottom(f, 2)", "distinct(f)", "derivative(f)", "difference(f)",
             "cumulative_sum(f)", "moving_average(f, 2)", "non_negative_derivative(f)",
             "elapsed(f)", "f", "f * 2", "max(f) - min(f)", "derivative(mean(f))",
             "difference(max(f))", "moving_average(mean(f), 2)", "cumulative_sum(sum(f))",
             "count(distinct(f))", "mean(f), max(f)", "first(f), last(f)", "top(f, host, 2)",
             "max(f), f"]
INNERS = ["SELECT f AS v FROM g", "SELECT f AS v, host FROM g", "SELECT max(f) AS v FROM g",
          "SELECT max(f) AS v FROM g GROUP BY host",
          "SELECT mean(f) AS v FROM g WHERE %s GROUP BY time(1000s)" % WINDOW,
          "SELECT count(f) AS v FROM g GROUP BY region", "SELECT top(f, 2) AS v FROM g",
          "SELECT last(f) AS v FROM g GROUP BY host", "SELECT f AS v FROM g LIMIT 2",
          "SELECT difference(f) AS v FROM g",
          "SELECT f AS v FROM g WHERE host = 'a' OR host = 'c'"]
OUTER_FIELDS = ["*", "v", "max(v)", "count(v)", "mean(v)", "sum(v)", "first(v)", "v * 2",
                "spread(v)", "last(v), min(v)", "median(v)"]


def select_statement(chooser):
    function = chooser.choice(FUNCTIONS)
    group = chooser.choice(["", " GROUP BY host", " GROUP BY region", " GROUP BY time(1000s)",
                            " GROUP BY time(1000s), host", " GROUP BY time(700s, 100s)"])
    where = chooser.choice(["", " WHERE " + WINDOW, " WHERE host = 'a'", " WHERE f > 1",
                            " WHERE time >= 1000s AND time <= 4000s AND host != 'b'"])
    if "time(" in group and "time >=" not in where:
        where = " WHERE " + WINDOW
    fill = ""
    if "time(" in group:
        fill = chooser.choice(["", "", "", " fill(none)", " fill(0)", " fill(previous)",
                               " fill(linear)", " fill(null)"])
    return "SELECT %s FROM g%s%s%s%s%s" % (
        function, where, group, fill, chooser.choice(["", "", " ORDER BY time DESC"]),
        chooser.choice(["", "", "", " LIMIT 1", " LIMIT 2 OFFSET 1", " SLIMIT 1",
                        " SOFFSET 1", " OFFSET 2"]))


def subquery_statement(chooser):
    field = chooser.choice(OUTER_FIELDS)
    groups = ["", " GROUP BY host", " GROUP BY region"]
    if "(" in field:
        groups += [" GROUP BY time(2000s)", " GROUP BY time(2000s), host"]
    group = chooser.choice(groups)
    where = chooser.choice(["", " WHERE " + WINDOW, " WHERE host = 'a'", " WHERE v > 1"])
    if "time(" in group and "time >=" not in where:
        where = " WHERE " + WINDOW
    return "SELECT %s FROM (%s)%s%s%s%s" % (
        field, chooser.choice(INNERS), where, group,
        chooser.choice(["", "", " ORDER BY time DESC"]),
        chooser.choice(["", "", "", " LIMIT 1", " SLIMIT 1", " OFFSET 1"]))


def condition(chooser, depth=0):
    if depth > 2 or chooser.random() < 0.4:
        key = chooser.choice(["host", "region", "k", "nope", "time", "_name", "_tagKey"])
        if key == "time":
            return "time %s %ds" % (chooser.choice([">", "<", ">=", "<=", "="]),
                                    chooser.choice([0, 1000, 1500, 2500, 3000, 4000, 5000]))
        if key == "_name":
            return "_name %s %s" % (chooser.choice(["=", "!="]), chooser.choice(["'g'", "'x'"]))
        op = chooser.choice(["=", "!=", "=~", "!~"])
        if "~" in op:
            return "%s %s /%s/" % (key, op, chooser.choice(["a", "^a$", "e", "", "^$", "b|c",
                                                             "^a", "^ea", "^w?", "^e.*t$", r"^\."]))
        return "%s %s '%s'" % (key, op, chooser.choice(["a", "b", "c", "east", "west", "p", ""]))
    text = "%s %s %s" % (condition(chooser, depth + 1), chooser.choice(["AND", "OR"]),
                         condition(chooser, depth + 1))
    return "(%s)" % text if chooser.random() < 0.5 else text


def delete_statement(chooser):
    kind = chooser.choice(["DELETE", "DROP SERIES"])
    source = chooser.choice(["", " FROM g", " FROM x", " FROM /g|x/", " FROM g, x"])
    return "%s%s WHERE %s" % (kind, source, condition(chooser))


def show_statement(chooser):
    kind = chooser.choice(["SHOW SERIES", "SHOW TAG KEYS", "SHOW SERIES EXACT CARDINALITY"])
    source = chooser.choice(["", " FROM g", " FROM x", " FROM /g|x/"])
    return "%s%s WHERE %s" % (kind, source, condition(chooser))


FAMILIES = {"select": select_statement, "subquery": subquery_statement,
            "delete": delete_statement, "show": show_statement}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sluice", default="target/debug/sluice")
    parser.add_argument("--family", choices=sorted(FAMILIES), default="select")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    recorder = load_tool("record_query_golden")
    differ = load_tool("golden_query_diff")
    influx_dir = tempfile.mkdtemp(prefix="rqd-influxd-")
    sluice_dir = tempfile.mkdtemp(prefix="rqd-sluice-")
    influxd = recorder.start_influxd(influx_dir)
    sluice_port = 18790
    sluice = differ.start_sluice(os.path.abspath(args.sluice), sluice_port, sluice_dir)
    ports = (recorder.HTTP_PORT, sluice_port)
    try:
        for port in ports:
            reset(port)
        chooser = random.Random(args.seed)
        mutating = args.family == "delete"
        differences = 0
        for _ in range(args.count):
            statement = FAMILIES[args.family](chooser)
            answers = []
            for port in ports:
                if mutating:
                    reset(port)
                answer = query(port, statement)
                if mutating:
                    answer += query(port, "SELECT * FROM g; SELECT * FROM x; SHOW SERIES")
                answers.append(answer)
            if answers[0] != answers[1]:
                differences += 1
                print("DIFF", statement)
                print("  influxd", answers[0][:600])
                print("  sluice ", answers[1][:600])
        print("%d of %d statements differ (family %s, seed %d)"
              % (differences, args.count, args.family, args.seed))
    finally:
        recorder.stop_influxd(influxd)
        sluice.terminate()
        sluice.wait()
        shutil.rmtree(influx_dir, ignore_errors=True)
        shutil.rmtree(sluice_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
