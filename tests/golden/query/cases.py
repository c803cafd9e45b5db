"""Golden /query cases, recorded from InfluxDB 1.6.7 by tools/record_query_golden.py and
replayed against Sluice by tests/golden_query.rs.

`DATASETS` maps a dataset name to what it holds:
  databases  [{"name", "retention_policies": [{"name", "duration", "shard_duration",
              "default"}]}]  (each database also gets InfluxDB's automatic `autogen`)
  writes     [{"db", "rp" (optional), "precision", "lines": [line protocol, ...]}]
A dataset is loaded on a server holding no database at all (every database SHOW DATABASES
lists is dropped first), so answers never depend on what an earlier case left behind.

`CASES` is a list of plain dicts:
  name      unique "group/slug"; the group is what the summary counts by
  dataset   the dataset loaded before the case
  request   {"method", "target" (path and query string), "headers": [[name, value]],
             "body"}; a POST with a form body carries
             Content-Type: application/x-www-form-urlencoded
  mutates   true when the request changes state (CREATE/DROP/DELETE/ALTER): the dataset is
            loaded fresh again before the next case
  note      free text kept in the recorded answer

Every timestamp is fixed (2026-11-01); `now()` appears only in conditions whose answer does
not move with the clock (a bound far below or above every point, raw points or selectors).
"""

import json
import os
from urllib.parse import quote, urlencode

# 2026-11-01T00:00:00Z in Unix seconds.
BASE_S = 1793491200
FORM = ["Content-Type", "application/x-www-form-urlencoded"]
STATE_CHANGING = ("CREATE", "DROP", "DELETE", "ALTER", "GRANT", "REVOKE", "KILL", "SET")

# Window that holds every point of the cpu dataset, for GROUP BY time queries.
WINDOW = "time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01T00:02:00Z'"


def ts(seconds):
    """RFC3339 text of BASE + seconds (seconds < 1 day)."""
    return "2026-11-01T%02d:%02d:%02dZ" % (seconds // 3600, seconds // 60 % 60, seconds % 60)


# ---------------------------------------------------------------------------
# datasets
# ---------------------------------------------------------------------------

CPU_USAGE_A = [10.5, 12, 11.25, 15, 14.5, 13, 16.75, 18, 17.5, 20, 19.25, 21]
CPU_USAGE_B = {0: 30, 1: 28.5, 2: 31, 4: 35, 5: 33.5, 7: 29, 9: 27.5, 10: 26, 11: 25}
CPU_USAGE_C = [5, 6, 7, 8, 9, 10]


def cpu_lines():
    lines = []
    for k, usage in enumerate(CPU_USAGE_A):
        lines.append("cpu,host=a,region=east usage=%s,idle=%s,count=%di %d"
                     % (usage, 100 - usage, 3 * k + 1, BASE_S + 10 * k))
    for k, usage in CPU_USAGE_B.items():
        lines.append("cpu,host=b,region=west usage=%s,idle=%s,count=%di %d"
                     % (usage, 100 - usage, 10 - k, BASE_S + 10 * k))
    for k, usage in enumerate(CPU_USAGE_C):
        lines.append('cpu,host=c usage=%s,count=%di,state="%s" %d'
                     % (usage, k * k, "ok" if k % 2 == 0 else "busy", BASE_S + 20 * k))
    for k in range(6):
        lines.append("mem,host=a used=%di,free=%di %d"
                     % (1000 + 100 * k, 3000 - 100 * k, BASE_S + 20 * k))
        lines.append("mem,host=b used=%di,free=%di %d"
                     % (2000 - 50 * k, 2000 + 50 * k, BASE_S + 20 * k))
    lines.append("disk,host=a,path=/ used_pct=40.5 %d" % BASE_S)
    lines.append("disk,host=a,path=/home used_pct=71.25 %d" % (BASE_S + 60))
    return lines


TYPES_LINES = [
    't,tag1=x f=1.5,i=1i,s="one",b=true %d' % BASE_S,
    't,tag1=x f=2.5,i=2i,s="two",b=false %d' % (BASE_S + 10),
    "t,tag1=y f=-3,i=-3i %d" % (BASE_S + 20),
    't,tag1=y s="four",b=true %d' % (BASE_S + 30),
    't f=5e10,i=9007199254740993i,s="with \\"quote\\" <a&b>",b=false %d' % (BASE_S + 40),
    "t,tag1=x f=0.1,i=0i %d" % (BASE_S + 50),
]

# Floats around the points where Go's JSON encoder switches to exponent form, strings with
# characters JSON must escape, and names with escaped spaces, commas and equals signs.
FORMAT_LINES = [
    "fl v=1e-7 %d" % BASE_S,
    "fl v=0.000001 %d" % (BASE_S + 10),
    "fl v=1e20 %d" % (BASE_S + 20),
    "fl v=1e21 %d" % (BASE_S + 30),
    "fl v=123456789.123456789 %d" % (BASE_S + 40),
    "fl v=-0.30000000000000004 %d" % (BASE_S + 50),
    "fl v=1.7976931348623157e308 %d" % (BASE_S + 60),
    "fl v=5e-324 %d" % (BASE_S + 70),
    'str s="tab\there" %d' % BASE_S,
    'str s="caf\u00e9 \u2603" %d' % (BASE_S + 10),
    'str s="line\u2028sep back\\\\slash" %d' % (BASE_S + 20),
    'str s="" %d' % (BASE_S + 30),
    "we\\ ird,ta\\ g=v\\,1,t\\=k=x fi\\ eld=1 %d" % BASE_S,
    "we\\ ird,ta\\ g=v\\,2 fi\\ eld=2 %d" % (BASE_S + 10),
]

MATH_LINES = [
    "m x=0.5,y=4,n=-2i,z=10i %d" % BASE_S,
    "m x=-0.5,y=9,n=3i,z=20i %d" % (BASE_S + 10),
    "m x=1,y=2.25,n=-4i,z=30i %d" % (BASE_S + 20),
    "m x=0,y=100,n=5i,z=40i %d" % (BASE_S + 30),
    "m x=-1,y=0.01,n=0i,z=50i %d" % (BASE_S + 40),
]

META_LINES = [
    "cpu,host=a,region=east v=1 %d" % BASE_S,
    "cpu,host=b,region=west v=2 %d" % BASE_S,
    "cpu,host=c,region=west v=3 %d" % BASE_S,
    "disk,host=a,path=/ free=10i %d" % BASE_S,
    "disk,host=a,path=/home free=20i %d" % BASE_S,
    "mem,host=a used=5i,cached=1.5 %d" % BASE_S,
    "net,iface=eth0 rx=7i,tx=8i %d" % BASE_S,
    'weather,city=oslo temp=-2.5,sky="clear" %d' % BASE_S,
    "weather,city=rome,country=it temp=14 %d" % BASE_S,
    "weather,city=rome,country=it temp=15 %d" % (86400 * 40 + BASE_S),
]

# Corners of issue 14: integers at the i64 extremes (one series, and one point per series),
# a tag and a field of the same name, points of several series at equal times (first/last).
I64_MIN, I64_MAX = -9223372036854775808, 9223372036854775807
CORNER_LINES = [
    "ext v=%di %d" % (I64_MIN, BASE_S),
    "ext v=%di %d" % (I64_MAX, BASE_S + 10),
    "ext v=-1i %d" % (BASE_S + 20),
    "extser,h=a v=%di %d" % (I64_MIN, BASE_S),
    "extser,h=b v=%di %d" % (I64_MAX, BASE_S + 10),
    "extser,h=c v=-1i %d" % (BASE_S + 20),
    "same,host=a value=1,host=5i %d" % BASE_S,
    "same,host=b value=2,host=6i %d" % (BASE_S + 10),
    "same,region=r value=3 %d" % (BASE_S + 20),
]
for k, values in enumerate([(1, 2, 0), (5, 9, 7), (3, 1, 2, 4), (2, 4, 1, 3, 5)]):
    for s, value in enumerate(values):
        CORNER_LINES.append("tie%d,host=%s value=%s,n=%di %d"
                            % (k, chr(ord("a") + s), value, value, BASE_S))
# The earliest and the latest time shared by some series only.
for s, (value, offset) in enumerate([(1, 20), (4, 10), (2, 10), (3, 10), (5, 20)]):
    CORNER_LINES.append("tiep,host=%s value=%s %d" % (chr(ord("a") + s), value, BASE_S + offset))

# The order sum()/mean() add per-series partials in (1.6.7's parallel merge: per shard the
# series in GOMAXPROCS groups, each shard reduced per window, then the shards): values whose
# float sums round differently in another order, over one-hour shards. The recorder runs
# influxd with GOMAXPROCS=2 and the test Sluice with query-merge-parallelism 2.
MERGE_LINES = [
    # a window over two shards: each shard's partials are reduced before the shards' are
    "two,h=a f=1e16 %d" % BASE_S, "two,h=b f=1 %d" % BASE_S,
    "two,h=a f=-1e16 %d" % (BASE_S + 3600), "two,h=b f=3 %d" % (BASE_S + 3600),
    "three,h=a f=1e16 %d" % BASE_S, "three,h=b f=1 %d" % BASE_S, "three,h=c f=1 %d" % BASE_S,
    "three,h=c f=-1e16 %d" % (BASE_S + 3600),
]


def merge_order_lines():
    """12 series of many-digit floats and integers over two one-hour shards, one series
    missing from the second (seeded; random's Mersenne Twister is stable across versions)."""
    import random
    rng = random.Random(17)
    lines = []
    for index in range(12):
        for step in range(0, 7200 if index != 5 else 3600, 60):
            f = rng.uniform(-1000, 1000) * 10 ** rng.randrange(-3, 4)
            lines.append("mo,host=h%02d,region=r%d f=%r,i=%di %d" % (
                index, index % 3, f, rng.randrange(-10 ** 12, 10 ** 12), BASE_S + step))
    return lines


MERGE_LINES += merge_order_lines()

DATASETS = {
    "none": {},
    "merge": {
        "databases": [{"name": "qg_merge", "retention_policies": [
            {"name": "hourly", "duration": "INF", "shard_duration": "1h", "default": True}]}],
        "writes": [{"db": "qg_merge", "rp": "hourly", "precision": "s", "lines": MERGE_LINES}],
    },
    "corner": {
        "databases": [{"name": "qg_corner"}],
        "writes": [{"db": "qg_corner", "precision": "s", "lines": CORNER_LINES}],
    },
    "cpu": {
        "databases": [{"name": "qg", "retention_policies": [
            {"name": "rp2", "duration": "5200w", "shard_duration": "1w"}]}],
        "writes": [
            {"db": "qg", "precision": "s", "lines": cpu_lines()},
            {"db": "qg", "rp": "rp2", "precision": "s",
             "lines": ["cpu,host=a,region=east usage=99 %d" % BASE_S,
                       "cpu,host=a,region=east usage=98 %d" % (BASE_S + 60)]},
        ],
    },
    "types": {
        "databases": [{"name": "qg_types"}],
        "writes": [{"db": "qg_types", "precision": "s", "lines": TYPES_LINES + FORMAT_LINES}],
    },
    "math": {
        "databases": [{"name": "qg_math"}],
        "writes": [{"db": "qg_math", "precision": "s", "lines": MATH_LINES}],
    },
    "meta": {
        "databases": [
            {"name": "qg_meta", "retention_policies": [
                {"name": "long", "duration": "5200w", "shard_duration": "2w"},
                {"name": "forever", "duration": "INF", "shard_duration": "4w"}]},
            {"name": "qg_meta2"},
        ],
        "writes": [
            {"db": "qg_meta", "precision": "s", "lines": META_LINES},
            {"db": "qg_meta", "rp": "long", "precision": "s",
             "lines": ["cpu,host=z v=9 %d" % BASE_S]},
            {"db": "qg_meta2", "precision": "s",
             "lines": ["other,k=v f=1 %d" % BASE_S]},
        ],
    },
}

# ---------------------------------------------------------------------------
# case helpers
# ---------------------------------------------------------------------------

CASES = []
DATABASE_OF = {"cpu": "qg", "types": "qg_types", "math": "qg_math", "meta": "qg_meta",
               "corner": "qg_corner", "merge": "qg_merge", "none": None}


def case(name, dataset, request, mutates=False, note=None):
    entry = {"name": name, "dataset": dataset, "request": request}
    if mutates:
        entry["mutates"] = True
    if note:
        entry["note"] = note
    CASES.append(entry)


def q(name, statement, dataset="cpu", method=None, db="", params=(), headers=(),
      form=False, mutates=None, note=None):
    """A /query case. `db=""` means the dataset's database, None means no db parameter.
    GET puts everything in the URL; POST (the default for state-changing statements) puts
    q and db in a form body unless `form` is False and the method was given explicitly."""
    if db == "":
        db = DATABASE_OF[dataset]
    changes_state = statement.lstrip().upper().startswith(STATE_CHANGING)
    if method is None:
        method = "POST" if changes_state else "GET"
        form = form or method == "POST"
    if mutates is None:
        mutates = changes_state
    main = []
    if db is not None:
        main.append(("db", db))
    if statement is not None:
        main.append(("q", statement))
    url_params = list(params)
    request = {"method": method, "headers": [list(h) for h in headers]}
    if form:
        request["body"] = urlencode(main, quote_via=quote)
        request["headers"].insert(0, list(FORM))
    else:
        url_params = main + url_params
    request["target"] = "/query" + ("?" + urlencode(url_params, quote_via=quote)
                                    if url_params else "")
    if not request["headers"]:
        del request["headers"]
    case(name, dataset, request, mutates=mutates, note=note)


def raw(name, dataset, method, target, body=None, headers=(), mutates=False, note=None):
    request = {"method": method, "target": target}
    if headers:
        request["headers"] = [list(h) for h in headers]
    if body is not None:
        request["body"] = body
    case(name, dataset, request, mutates=mutates, note=note)


# ---------------------------------------------------------------------------
# http: how the request is made and how the answer is shaped
# ---------------------------------------------------------------------------

SEL_A = "SELECT usage FROM cpu WHERE host = 'a' AND time < '2026-11-01T00:00:30Z'"

q("http/get-q-in-url", SEL_A)
q("http/post-form-body", SEL_A, method="POST", form=True)
q("http/post-q-in-url", SEL_A, method="POST")
raw("http/post-q-url-db-in-form", "cpu", "POST", "/query?q=" + quote(SEL_A, safe=""),
    "db=qg", [FORM])
raw("http/post-form-and-url-q", "cpu", "POST", "/query?db=qg&q=SHOW%20DATABASES",
    "q=" + quote(SEL_A, safe=""), [FORM], note="which q wins")
raw("http/get-missing-q", "cpu", "GET", "/query?db=qg")
raw("http/post-missing-q", "cpu", "POST", "/query?db=qg", "", [FORM])
raw("http/get-empty-q", "cpu", "GET", "/query?db=qg&q=")
raw("http/post-json-body", "cpu", "POST", "/query?db=qg",
    '{"q":"SHOW DATABASES"}', [["Content-Type", "application/json"]])
raw("http/get-only-whitespace-q", "cpu", "GET", "/query?db=qg&q=%20%20")
raw("http/get-only-semicolon", "cpu", "GET", "/query?db=qg&q=%3B")
q("http/no-db", "SELECT usage FROM cpu", db=None)
q("http/db-not-found", "SELECT usage FROM cpu", db="nope")
q("http/db-not-found-show-measurements", "SHOW MEASUREMENTS", db="nope")
q("http/rp-param", "SELECT usage FROM cpu", params=[("rp", "rp2")])
q("http/rp-param-not-found", "SELECT usage FROM cpu", params=[("rp", "nope")])
q("http/rp-param-explicit-in-query-wins", "SELECT usage FROM qg.autogen.cpu WHERE host = 'a' "
  "AND time < '2026-11-01T00:00:20Z'", params=[("rp", "rp2")])
for unit in ["ns", "n", "u", "\u00b5", "ms", "s", "m", "h"]:
    q("http/epoch-%s" % {"\u00b5": "micro"}.get(unit, unit), SEL_A,
      params=[("epoch", unit)])
q("http/epoch-absent-rfc3339", "SELECT usage FROM cpu WHERE host = 'b'")
q("http/epoch-bogus", SEL_A, params=[("epoch", "x")])
q("http/epoch-ms-aggregate", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(1m)" % WINDOW,
  params=[("epoch", "ms")])
q("http/epoch-s-show-shards", "SHOW SHARDS", dataset="cpu", params=[("epoch", "s")])
q("http/pretty-select", SEL_A, params=[("pretty", "true")])
q("http/pretty-two-series", "SELECT last(usage) FROM cpu GROUP BY host",
  params=[("pretty", "true")])
q("http/pretty-error", "SELECT usage FROM cpu", db="nope", params=[("pretty", "true")])
q("http/pretty-empty", "SELECT usage FROM nothing", params=[("pretty", "true")])
q("http/pretty-show-databases", "SHOW DATABASES", params=[("pretty", "true")])
q("http/pretty-parse-error", "SELEC 1", params=[("pretty", "true")])
q("http/chunked-true", "SELECT usage FROM cpu WHERE host = 'a'", params=[("chunked", "true")])
q("http/chunked-size-5", "SELECT usage FROM cpu WHERE host = 'a'",
  params=[("chunked", "true"), ("chunk_size", "5")])
q("http/chunked-size-1-group-by", "SELECT usage FROM cpu WHERE time < '2026-11-01T00:00:20Z' "
  "GROUP BY host", params=[("chunked", "true"), ("chunk_size", "1")])
q("http/chunked-two-statements", "SELECT usage FROM cpu WHERE host = 'c'; SHOW MEASUREMENTS",
  params=[("chunked", "true"), ("chunk_size", "4")])
q("http/chunked-aggregate", "SELECT count(usage) FROM cpu WHERE %s GROUP BY time(30s), host"
  % WINDOW, params=[("chunked", "true"), ("chunk_size", "2")])
q("http/chunked-error", "SELECT usage FROM cpu", db="nope", params=[("chunked", "true")])
q("http/chunked-empty", "SELECT usage FROM nothing", params=[("chunked", "true")])
q("http/chunked-false", SEL_A, params=[("chunked", "false")])
q("http/chunked-size-0", SEL_A, params=[("chunked", "true"), ("chunk_size", "0")])
q("http/chunked-pretty", SEL_A, params=[("chunked", "true"), ("pretty", "true")])
q("http/params-string", "SELECT usage FROM cpu WHERE host = $host AND time < $t",
  params=[("params", '{"host":"b","t":"2026-11-01T00:00:30Z"}')])
q("http/params-number", "SELECT usage FROM cpu WHERE usage > $min AND host = 'a'",
  params=[("params", '{"min":18}')])
q("http/params-integer-limit", "SELECT usage FROM cpu WHERE host = 'a' LIMIT $n",
  params=[("params", '{"n":2}')], note="a bound parameter in LIMIT")
q("http/params-missing", "SELECT usage FROM cpu WHERE host = $host",
  params=[("params", '{"other":"a"}')])
q("http/params-bad-json", "SELECT usage FROM cpu WHERE host = $host",
  params=[("params", '{"host":')])
q("http/params-in-form", "SELECT usage FROM cpu WHERE host = $host AND time < $t",
  method="POST", form=True,
  params=[("params", '{"host":"c","t":"2026-11-01T00:00:50Z"}')])
q("http/params-bool", "SELECT usage FROM cpu WHERE host = 'a' AND $b",
  params=[("params", '{"b":true}')])
q("http/params-identifier-not-bound", "SELECT $f FROM cpu", params=[("params", '{"f":"usage"}')],
  note="a parameter stands for a value, not a field name")
q("http/multi-two-selects", "SELECT usage FROM cpu WHERE host = 'c' AND time < "
  "'2026-11-01T00:00:30Z'; SELECT used FROM mem WHERE host = 'a' AND time < "
  "'2026-11-01T00:00:30Z'")
q("http/multi-select-and-show", "SHOW MEASUREMENTS; SELECT count(usage) FROM cpu")
q("http/multi-three-with-empty", "SELECT usage FROM nothing; SHOW DATABASES; "
  "SELECT max(used) FROM mem")
q("http/multi-second-fails-last", "SELECT count(usage) FROM cpu; SELECT usage FROM nope.autogen.cpu")
q("http/multi-first-fails", "SELECT usage FROM nope.autogen.cpu; SELECT count(usage) FROM cpu")
q("http/multi-semantic-error-second", "SELECT count(usage) FROM cpu; SELECT usage, "
  "count(usage) FROM cpu")
q("http/multi-parse-error-second", "SELECT count(usage) FROM cpu; SELEC x")
q("http/multi-trailing-semicolon", "SELECT count(usage) FROM cpu;")
q("http/multi-empty-middle", "SELECT count(usage) FROM cpu;; SHOW DATABASES")
CSV = [["Accept", "application/csv"]]
q("http/csv-select", SEL_A, headers=CSV)
q("http/csv-group-by-tags", "SELECT last(usage) FROM cpu GROUP BY host, region", headers=CSV)
q("http/csv-show-databases", "SHOW DATABASES", headers=CSV)
q("http/csv-show-tag-values", "SHOW TAG VALUES FROM cpu WITH KEY = host", headers=CSV)
q("http/csv-error", "SELECT usage FROM cpu", db="nope", headers=CSV)
q("http/csv-empty", "SELECT usage FROM nothing", headers=CSV)
q("http/csv-two-statements", "SELECT max(used) FROM mem; SELECT min(used) FROM mem",
  headers=CSV)
q("http/csv-strings-and-nulls", "SELECT * FROM cpu WHERE time <= '2026-11-01T00:00:20Z'",
  headers=CSV)
q("http/csv-epoch-s", SEL_A, headers=CSV, params=[("epoch", "s")])
q("http/csv-parse-error", "SELEC 1", headers=CSV)
q("http/csv-create-database", "CREATE DATABASE qg_csv", headers=CSV)
q("http/accept-text-csv", SEL_A, headers=[["Accept", "text/csv"]])
q("http/accept-json-explicit", SEL_A, headers=[["Accept", "application/json"]])
q("http/accept-unknown", SEL_A, headers=[["Accept", "text/html"]])
q("http/get-create-database", "CREATE DATABASE qg_get", method="GET", mutates=True)
q("http/get-drop-measurement", "DROP MEASUREMENT mem", method="GET", mutates=True)
q("http/get-create-rp", "CREATE RETENTION POLICY r ON qg DURATION 2h REPLICATION 1",
  method="GET", mutates=True)
q("http/get-delete", "DELETE FROM mem WHERE host = 'a'", method="GET", mutates=True)
q("http/get-select-into", "SELECT usage INTO qg.autogen.cpu_copy FROM cpu WHERE host = 'c'",
  method="GET", mutates=True)
q("http/post-select-into", "SELECT usage INTO cpu_copy FROM cpu WHERE host = 'c'; "
  "SELECT * FROM cpu_copy", method="POST", form=True, mutates=True)
raw("http/put-method", "cpu", "PUT", "/query?db=qg&q=SHOW%20DATABASES")
raw("http/plus-as-space-raw", "cpu", "GET", "/query?db=qg&q=SHOW+MEASUREMENTS")
raw("http/u-p-ignored", "cpu", "GET", "/query?db=qg&u=x&p=y&q=SHOW+MEASUREMENTS")

# ---------------------------------------------------------------------------
# parse errors (400)
# ---------------------------------------------------------------------------

PARSE_ERRORS = {
    "selec": "SELEC usage FROM cpu",
    "select-only": "SELECT",
    "no-fields": "SELECT FROM cpu",
    "no-from-source": "SELECT usage FROM",
    "where-empty": "SELECT usage FROM cpu WHERE",
    "unbalanced-paren": "SELECT mean(usage FROM cpu",
    "unterminated-string": "SELECT usage FROM cpu WHERE host = 'a",
    "bad-regex": "SELECT usage FROM /cpu(/",
    "bad-duration": "SELECT mean(usage) FROM cpu GROUP BY time(5x)",
    "group-by-time-empty": "SELECT mean(usage) FROM cpu GROUP BY time()",
    "limit-not-number": "SELECT usage FROM cpu LIMIT x",
    "limit-negative": "SELECT usage FROM cpu LIMIT -1",
    "order-by-field": "SELECT usage FROM cpu ORDER BY usage",
    "show-only": "SHOW",
    "show-bogus": "SHOW BOGUS",
    "drop-only": "DROP",
    "create-database-no-name": "CREATE DATABASE",
    "trailing-garbage": "SHOW DATABASES garbage",
    "bad-fill": "SELECT mean(usage) FROM cpu GROUP BY time(1m) fill(bogus)",
    "bad-tz-arg": "SELECT usage FROM cpu tz(1)",
    "unknown-keyword": "EXPLODE cpu",
    "double-comma": "SELECT usage,, idle FROM cpu",
    "bad-time-string": "SELECT usage FROM cpu WHERE time > 'yesterday'",
    "show-tag-values-no-key": "SHOW TAG VALUES FROM cpu",
    "delete-no-where-or-from": "DELETE",
    "bad-bound-param-syntax": "SELECT usage FROM cpu WHERE host = $",
    "second-line": "SHOW DATABASES;\nSELEC x",
    "rp-duration-bad": "CREATE RETENTION POLICY r ON qg DURATION forever REPLICATION 1",
    "offset-without-number": "SELECT usage FROM cpu OFFSET",
    "slimit-bad": "SELECT usage FROM cpu SLIMIT x",
}
for slug, text in PARSE_ERRORS.items():
    q("parse/" + slug, text, method="GET", mutates=False)

# ---------------------------------------------------------------------------
# meta: databases, retention policies
# ---------------------------------------------------------------------------

q("meta/show-databases-empty", "SHOW DATABASES", dataset="none")
q("meta/show-databases-loaded", "SHOW DATABASES", dataset="meta")
q("meta/create-database-then-show", "CREATE DATABASE qg_new; SHOW DATABASES", dataset="none")
q("meta/create-database-existing", "CREATE DATABASE qg_meta", dataset="meta")
q("meta/create-database-with-rp", "CREATE DATABASE qg_w WITH DURATION 3d REPLICATION 1 "
  "SHARD DURATION 1h NAME short; SHOW RETENTION POLICIES ON qg_w", dataset="none")
q("meta/create-database-with-short-duration", "CREATE DATABASE qg_w WITH DURATION 30m",
  dataset="none")
q("meta/create-database-quoted-name", 'CREATE DATABASE "my db"; SHOW DATABASES',
  dataset="none")
q("meta/create-database-empty-name", 'CREATE DATABASE ""', dataset="none")
q("meta/drop-database-then-show", "DROP DATABASE qg_meta2; SHOW DATABASES", dataset="meta")
q("meta/drop-database-missing", "DROP DATABASE nope", dataset="meta")
q("meta/drop-database-then-select", "DROP DATABASE qg_meta; SELECT v FROM cpu", dataset="meta")
q("meta/show-rp-on", "SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/show-rp-db-param", "SHOW RETENTION POLICIES", dataset="meta")
q("meta/show-rp-no-db", "SHOW RETENTION POLICIES", dataset="meta", db=None)
q("meta/show-rp-db-not-found", "SHOW RETENTION POLICIES ON nope", dataset="meta")
q("meta/show-rp-cpu-dataset", "SHOW RETENTION POLICIES", dataset="cpu")
q("meta/create-rp-then-show", "CREATE RETENTION POLICY r1 ON qg_meta DURATION 2h "
  "REPLICATION 1; SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/create-rp-default", "CREATE RETENTION POLICY r1 ON qg_meta DURATION 1d "
  "REPLICATION 1 SHARD DURATION 2h DEFAULT; SHOW RETENTION POLICIES ON qg_meta",
  dataset="meta")
q("meta/create-rp-too-short", "CREATE RETENTION POLICY r1 ON qg_meta DURATION 30m "
  "REPLICATION 1", dataset="meta")
q("meta/create-rp-exists-same", "CREATE RETENTION POLICY long ON qg_meta DURATION 5200w "
  "REPLICATION 1 SHARD DURATION 2w", dataset="meta")
q("meta/create-rp-exists-different", "CREATE RETENTION POLICY long ON qg_meta DURATION 1d "
  "REPLICATION 1", dataset="meta")
q("meta/create-rp-db-not-found", "CREATE RETENTION POLICY r1 ON nope DURATION 1d "
  "REPLICATION 1", dataset="meta")
q("meta/create-rp-shard-duration-short", "CREATE RETENTION POLICY r1 ON qg_meta DURATION 1d "
  "REPLICATION 1 SHARD DURATION 1m; SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/alter-rp-duration", "ALTER RETENTION POLICY long ON qg_meta DURATION 100w; "
  "SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/alter-rp-default", "ALTER RETENTION POLICY forever ON qg_meta DEFAULT; "
  "SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/alter-rp-shard-duration", "ALTER RETENTION POLICY long ON qg_meta SHARD DURATION 3d; "
  "SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/alter-rp-missing", "ALTER RETENTION POLICY nope ON qg_meta DURATION 2h",
  dataset="meta")
q("meta/alter-rp-duration-below-shard", "ALTER RETENTION POLICY long ON qg_meta DURATION 1d",
  dataset="meta")
q("meta/drop-rp-then-show", "DROP RETENTION POLICY long ON qg_meta; "
  "SHOW RETENTION POLICIES ON qg_meta", dataset="meta")
q("meta/drop-rp-missing", "DROP RETENTION POLICY nope ON qg_meta", dataset="meta")
q("meta/drop-rp-db-missing", "DROP RETENTION POLICY long ON nope", dataset="meta")
q("meta/show-continuous-queries", "SHOW CONTINUOUS QUERIES", dataset="meta")
q("meta/show-users", "SHOW USERS", dataset="meta")
q("meta/show-subscriptions", "SHOW SUBSCRIPTIONS", dataset="meta")

# ---------------------------------------------------------------------------
# meta: measurements, series, tag keys/values, field keys, cardinality
# ---------------------------------------------------------------------------

for slug, text in [
        ("show-measurements", "SHOW MEASUREMENTS"),
        ("show-measurements-on", "SHOW MEASUREMENTS ON qg_meta2"),
        ("show-measurements-with-eq", "SHOW MEASUREMENTS WITH MEASUREMENT = disk"),
        ("show-measurements-with-regex", "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^(c|d)/"),
        ("show-measurements-with-regex-none", "SHOW MEASUREMENTS WITH MEASUREMENT =~ /^zz/"),
        ("show-measurements-where-tag", "SHOW MEASUREMENTS WHERE host = 'a'"),
        ("show-measurements-where-tag-regex", "SHOW MEASUREMENTS WHERE host =~ /a|b/"),
        ("show-measurements-where-tag-neq", "SHOW MEASUREMENTS WHERE host != 'a'"),
        ("show-measurements-limit", "SHOW MEASUREMENTS LIMIT 2"),
        ("show-measurements-offset", "SHOW MEASUREMENTS OFFSET 3"),
        ("show-measurements-limit-offset", "SHOW MEASUREMENTS LIMIT 2 OFFSET 1"),
        ("show-measurements-offset-past-end", "SHOW MEASUREMENTS OFFSET 50"),
        ("show-series", "SHOW SERIES"),
        ("show-series-on", "SHOW SERIES ON qg_meta2"),
        ("show-series-from", "SHOW SERIES FROM cpu"),
        ("show-series-from-regex", "SHOW SERIES FROM /^(d|m)/"),
        ("show-series-where", "SHOW SERIES WHERE host = 'a'"),
        ("show-series-from-where", "SHOW SERIES FROM cpu WHERE region = 'west'"),
        ("show-series-limit-offset", "SHOW SERIES LIMIT 3 OFFSET 2"),
        ("show-series-rp-source", "SHOW SERIES FROM qg_meta.long.cpu"),
        ("show-series-from-missing", "SHOW SERIES FROM nope"),
        ("show-tag-keys", "SHOW TAG KEYS"),
        ("show-tag-keys-from", "SHOW TAG KEYS FROM weather"),
        ("show-tag-keys-on", "SHOW TAG KEYS ON qg_meta2"),
        ("show-tag-keys-from-regex", "SHOW TAG KEYS FROM /^(cpu|disk)$/"),
        ("show-tag-keys-where", "SHOW TAG KEYS WHERE host = 'a'"),
        ("show-tag-keys-limit", "SHOW TAG KEYS LIMIT 1"),
        ("show-tag-values-eq", "SHOW TAG VALUES WITH KEY = host"),
        ("show-tag-values-from", "SHOW TAG VALUES FROM cpu WITH KEY = region"),
        ("show-tag-values-in", "SHOW TAG VALUES FROM weather WITH KEY IN (city, country)"),
        ("show-tag-values-regex", "SHOW TAG VALUES WITH KEY =~ /^(host|iface)$/"),
        ("show-tag-values-neq", "SHOW TAG VALUES FROM cpu WITH KEY != host"),
        ("show-tag-values-where", "SHOW TAG VALUES FROM cpu WITH KEY = host "
         "WHERE region = 'west'"),
        ("show-tag-values-on", "SHOW TAG VALUES ON qg_meta2 WITH KEY = k"),
        ("show-tag-values-limit-offset", "SHOW TAG VALUES WITH KEY = host LIMIT 1 OFFSET 1"),
        ("show-tag-values-missing-key", "SHOW TAG VALUES WITH KEY = nope"),
        ("show-field-keys", "SHOW FIELD KEYS"),
        ("show-field-keys-from", "SHOW FIELD KEYS FROM weather"),
        ("show-field-keys-on", "SHOW FIELD KEYS ON qg_meta2"),
        ("show-field-keys-from-regex", "SHOW FIELD KEYS FROM /^(mem|net)$/"),
        ("show-field-keys-rp", "SHOW FIELD KEYS FROM qg_meta.long.cpu"),
        ("show-series-cardinality", "SHOW SERIES CARDINALITY"),
        ("show-series-cardinality-on", "SHOW SERIES CARDINALITY ON qg_meta2"),
        ("show-series-cardinality-from", "SHOW SERIES CARDINALITY FROM cpu"),
        ("show-series-exact-cardinality", "SHOW SERIES EXACT CARDINALITY"),
        ("show-series-exact-cardinality-from", "SHOW SERIES EXACT CARDINALITY FROM /^(c|w)/"),
        ("show-series-exact-cardinality-where", "SHOW SERIES EXACT CARDINALITY "
         "WHERE host = 'a'"),
        ("show-measurement-cardinality", "SHOW MEASUREMENT CARDINALITY"),
        ("show-measurement-exact-cardinality", "SHOW MEASUREMENT EXACT CARDINALITY"),
        ("show-measurement-exact-cardinality-on", "SHOW MEASUREMENT EXACT CARDINALITY "
         "ON qg_meta2"),
        ("show-tag-key-cardinality", "SHOW TAG KEY CARDINALITY"),
        ("show-tag-key-exact-cardinality", "SHOW TAG KEY EXACT CARDINALITY FROM weather"),
        ("show-tag-values-cardinality", "SHOW TAG VALUES CARDINALITY WITH KEY = host"),
        ("show-tag-values-exact-cardinality", "SHOW TAG VALUES EXACT CARDINALITY "
         "WITH KEY = host"),
        ("show-field-key-cardinality", "SHOW FIELD KEY CARDINALITY"),
        ("show-field-key-exact-cardinality", "SHOW FIELD KEY EXACT CARDINALITY FROM weather"),
        ("show-shards", "SHOW SHARDS"),
        ("show-shard-groups", "SHOW SHARD GROUPS"),
]:
    q("meta/" + slug, text, dataset="meta")

q("meta/show-measurements-on-regex", "SHOW MEASUREMENTS ON qg_meta WITH MEASUREMENT =~ /e/",
  dataset="meta", db=None)
q("meta/show-tag-keys-on-regex", "SHOW TAG KEYS ON qg_meta FROM /^w/", dataset="meta", db=None)
q("meta/show-field-keys-on-regex", "SHOW FIELD KEYS ON qg_meta FROM /^(c|d)/", dataset="meta",
  db=None)
q("meta/show-series-on-regex-where", "SHOW SERIES ON qg_meta FROM /^(cpu|mem)$/ "
  "WHERE host = 'a'", dataset="meta", db=None)
q("meta/show-tag-values-on-regex", "SHOW TAG VALUES ON qg_meta FROM /^(disk|net)$/ "
  "WITH KEY =~ /^(path|iface)$/", dataset="meta", db=None)
q("meta/show-series-exact-cardinality-on", "SHOW SERIES EXACT CARDINALITY ON qg_meta2",
  dataset="meta", db=None)
q("meta/kill-query-missing", "KILL QUERY 99999", dataset="meta", mutates=False)
q("meta/show-grants-missing-user", "SHOW GRANTS FOR nobody", dataset="meta")
q("meta/show-measurements-no-db", "SHOW MEASUREMENTS", dataset="meta", db=None)
q("meta/show-series-no-db", "SHOW SERIES", dataset="meta", db=None)
q("meta/show-tag-keys-db-not-found", "SHOW TAG KEYS ON nope", dataset="meta")
q("meta/show-field-keys-no-db", "SHOW FIELD KEYS", dataset="meta", db=None)
q("meta/show-shards-none", "SHOW SHARDS", dataset="none")
q("meta/show-measurements-empty-db", "SHOW MEASUREMENTS", dataset="meta", db="qg_meta2",
  note="qg_meta2 has one measurement")
q("meta/show-measurements-cpu-dataset", "SHOW MEASUREMENTS", dataset="cpu")
q("meta/show-tag-values-cpu-dataset", "SHOW TAG VALUES WITH KEY =~ /.*/", dataset="cpu")
q("meta/show-field-keys-cpu-dataset", "SHOW FIELD KEYS", dataset="cpu")
q("meta/show-field-keys-types", "SHOW FIELD KEYS", dataset="types")
q("meta/show-series-types", "SHOW SERIES", dataset="types")

# State changes, each followed by a statement that shows the effect.
MUT = [
    ("drop-measurement", "DROP MEASUREMENT disk; SHOW MEASUREMENTS"),
    ("drop-measurement-missing", "DROP MEASUREMENT nope"),
    ("drop-measurement-then-series", "DROP MEASUREMENT cpu; SHOW SERIES"),
    ("drop-series-from", "DROP SERIES FROM cpu; SHOW SERIES"),
    ("drop-series-where", "DROP SERIES WHERE host = 'a'; SHOW SERIES"),
    ("drop-series-from-where", "DROP SERIES FROM cpu WHERE region = 'west'; SHOW SERIES"),
    ("drop-series-regex-source", "DROP SERIES FROM /^(d|n)/; SHOW MEASUREMENTS"),
    ("drop-series-time-condition", "DROP SERIES FROM cpu WHERE time > 0"),
    ("delete-from-time", "DELETE FROM weather WHERE time < '2026-11-02T00:00:00Z'; "
     "SELECT * FROM weather"),
    ("delete-where-tag", "DELETE WHERE city = 'rome'; SELECT * FROM weather"),
    ("delete-from-regex", "DELETE FROM /^(cpu|mem)$/ WHERE time < '2027-01-01T00:00:00Z'; "
     "SHOW MEASUREMENTS"),
    ("delete-all-from", "DELETE FROM net; SHOW MEASUREMENTS"),
    ("delete-on-db", "DELETE FROM other; SHOW MEASUREMENTS ON qg_meta2"),
]
for slug, text in MUT:
    q("mutate/" + slug, text, dataset="meta", mutates=True)
q("mutate/delete-time-range-cpu", "DELETE FROM cpu WHERE time >= '2026-11-01T00:00:30Z' AND "
  "time <= '2026-11-01T00:01:00Z' AND host = 'a'; SELECT usage FROM cpu WHERE host = 'a'",
  dataset="cpu", mutates=True)
q("mutate/drop-series-on-db-param", "DROP SERIES FROM mem WHERE host = 'b'; "
  "SELECT count(used) FROM mem GROUP BY host", dataset="cpu", mutates=True)
q("mutate/delete-field-condition", "DELETE FROM other WHERE f > 1", dataset="meta",
  db="qg_meta2", mutates=True, note="qg_meta2 has one shard: the error names it")
q("mutate/delete-no-db", "DELETE FROM cpu", dataset="cpu", db=None, mutates=True)
q("mutate/drop-measurement-no-db", "DROP MEASUREMENT cpu", dataset="cpu", db=None,
  mutates=True)

# ---------------------------------------------------------------------------
# SELECT: fields, tags, expressions, sources
# ---------------------------------------------------------------------------

T30 = "time < '2026-11-01T00:00:30Z'"
SELECTS = [
    ("field", "SELECT usage FROM cpu WHERE host = 'a'"),
    ("two-fields", "SELECT usage, idle FROM cpu WHERE host = 'b'"),
    ("field-and-tag", "SELECT usage, host FROM cpu WHERE %s" % T30),
    ("only-tag", "SELECT host FROM cpu"),
    ("star", "SELECT * FROM cpu WHERE %s" % T30),
    ("star-mem", "SELECT * FROM mem"),
    ("star-field", "SELECT *::field FROM cpu WHERE %s" % T30),
    ("star-tag-and-field", "SELECT *::tag, usage FROM cpu WHERE %s" % T30),
    ("field-cast", "SELECT usage::field, host::tag FROM cpu WHERE %s" % T30),
    ("cast-integer", "SELECT usage::integer FROM cpu WHERE host = 'a' AND %s" % T30),
    ("cast-float", "SELECT count::float FROM cpu WHERE host = 'a' AND %s" % T30),
    ("alias", "SELECT usage AS u, idle AS \"free cpu\" FROM cpu WHERE host = 'a' AND %s" % T30),
    ("arith-add", "SELECT usage + idle FROM cpu WHERE host = 'a' AND %s" % T30),
    ("arith-mixed", "SELECT usage * 2 - count / 4 FROM cpu WHERE host = 'a' AND %s" % T30),
    ("arith-int-div", "SELECT count / 2 FROM cpu WHERE host = 'b' AND %s" % T30),
    ("arith-int-mod", "SELECT count % 3 FROM cpu WHERE host = 'b' AND " + T30),
    ("arith-parens-alias", "SELECT (usage + 1) * (idle - 1) AS x FROM cpu WHERE host = 'a' "
     "AND %s" % T30),
    ("arith-div-zero", "SELECT usage / 0 FROM cpu WHERE host = 'a' AND %s" % T30),
    ("arith-bitwise", "SELECT count & 1, count | 8, count ^ 5 FROM cpu WHERE host = 'b' AND %s"
     % T30),
    ("arith-with-missing-field", "SELECT usage + state FROM cpu WHERE host = 'c'"),
    ("literal-only", "SELECT 1 FROM cpu"),
    ("missing-field", "SELECT nope FROM cpu"),
    ("missing-and-present", "SELECT nope, usage FROM cpu WHERE host = 'c'"),
    ("field-missing-in-some-series", "SELECT state FROM cpu"),
    ("two-measurements", "SELECT * FROM cpu, mem WHERE time < '2026-11-01T00:00:20Z'"),
    ("two-measurements-field", "SELECT used, usage FROM cpu, mem WHERE time = "
     "'2026-11-01T00:00:40Z'"),
    ("regex-measurement", "SELECT * FROM /^(d|m)/ WHERE time < '2026-11-01T00:00:21Z'"),
    ("regex-measurement-none", "SELECT * FROM /^zz/"),
    ("db-rp-measurement", "SELECT usage FROM qg.rp2.cpu"),
    ("db-default-rp-measurement", "SELECT usage FROM qg..cpu WHERE host = 'a' AND %s" % T30),
    ("rp-measurement", "SELECT usage FROM rp2.cpu"),
    ("db-rp-regex", "SELECT * FROM qg.rp2./c/"),
    ("quoted-measurement", "SELECT \"usage\" FROM \"cpu\" WHERE \"host\" = 'a' AND %s" % T30),
    ("measurement-not-found", "SELECT usage FROM nothing"),
    ("rp-not-found", "SELECT usage FROM qg.nope.cpu"),
    ("other-db-not-loaded", "SELECT v FROM qg_meta.autogen.cpu"),
    ("tag-only-where-no-field", "SELECT host, region FROM cpu WHERE %s" % T30),
    ("time-column-select", "SELECT time, usage FROM cpu WHERE host = 'a' AND %s" % T30),
    ("field-named-like-keyword", "SELECT \"count\" FROM cpu WHERE host = 'a' AND %s" % T30),
    ("string-field", "SELECT state FROM cpu WHERE host = 'c'"),
    ("selector-with-tag", "SELECT max(usage), host FROM cpu"),
]
for slug, text in SELECTS:
    q("select/" + slug, text)

WHERES = [
    ("time-rfc3339-range", "SELECT usage FROM cpu WHERE host = 'a' AND time >= "
     "'2026-11-01T00:00:30Z' AND time <= '2026-11-01T00:01:00Z'"),
    ("time-rfc3339-nanos", "SELECT usage FROM cpu WHERE host = 'a' AND time > "
     "'2026-11-01T00:00:09.999999999Z' AND time < '2026-11-01T00:00:20.000000001Z'"),
    ("time-date-only", "SELECT count(usage) FROM cpu WHERE time >= '2026-11-01' AND "
     "time < '2026-11-02'"),
    ("time-epoch-ns", "SELECT usage FROM cpu WHERE host = 'a' AND time >= %d AND time < %d"
     % ((BASE_S + 50) * 10**9, (BASE_S + 70) * 10**9)),
    ("time-epoch-s-unit", "SELECT usage FROM cpu WHERE host = 'a' AND time >= %ds AND "
     "time < %ds" % (BASE_S + 50, BASE_S + 70)),
    ("time-epoch-ms-unit", "SELECT usage FROM cpu WHERE host = 'a' AND time >= %dms"
     % ((BASE_S + 100) * 1000)),
    ("time-epoch-plus-duration", "SELECT usage FROM cpu WHERE host = 'a' AND time >= "
     "'2026-11-01T00:00:00Z' + 90s"),
    ("time-minus-duration", "SELECT usage FROM cpu WHERE host = 'a' AND time < "
     "'2026-11-01T00:01:00Z' - 30s"),
    ("time-now-far-past", "SELECT usage FROM cpu WHERE host = 'c' AND time > now() - 100000d"),
    ("time-now-upper", "SELECT usage FROM cpu WHERE host = 'c' AND time < now()"),
    ("time-now-future-empty", "SELECT usage FROM cpu WHERE time > now() + 1000d"),
    ("time-now-selector", "SELECT max(usage) FROM cpu WHERE time > now() - 100000d"),
    ("time-equal", "SELECT usage FROM cpu WHERE time = '2026-11-01T00:00:20Z'"),
    ("time-empty-range", "SELECT usage FROM cpu WHERE time > '2026-11-01T00:01:00Z' AND "
     "time < '2026-11-01T00:00:30Z'"),
    ("time-or", "SELECT usage FROM cpu WHERE host = 'a' AND (time = '2026-11-01T00:00:00Z' OR "
     "time = '2026-11-01T00:01:00Z')"),
    ("tag-eq", "SELECT usage FROM cpu WHERE region = 'west' AND %s" % T30),
    ("tag-neq", "SELECT usage FROM cpu WHERE host != 'a' AND %s" % T30),
    ("tag-regex", "SELECT usage FROM cpu WHERE host =~ /^[ab]$/ AND %s" % T30),
    ("tag-not-regex", "SELECT usage FROM cpu WHERE host !~ /a/ AND %s" % T30),
    ("tag-eq-empty", "SELECT usage FROM cpu WHERE region = '' AND %s" % T30),
    ("tag-neq-empty", "SELECT usage FROM cpu WHERE region != '' AND %s" % T30),
    ("tag-missing-key", "SELECT usage FROM cpu WHERE nope = 'x'"),
    ("tag-or", "SELECT usage FROM cpu WHERE (host = 'a' OR host = 'c') AND %s" % T30),
    # Regexes the index narrows (anchored literal prefix, OR of tag terms) or cannot.
    ("tag-regex-prefix", "SELECT count(usage) FROM cpu WHERE host =~ /^a/ GROUP BY host"),
    ("tag-regex-prefix-optional", "SELECT count(usage) FROM cpu WHERE host =~ /^ax?/ GROUP BY host"),
    ("tag-regex-prefix-alternation", "SELECT count(usage) FROM cpu WHERE host =~ /^a|c/ "
     "GROUP BY host"),
    ("tag-regex-prefix-or-tag", "SELECT count(usage) FROM cpu WHERE host =~ /^a/ OR "
     "region = 'west' GROUP BY host"),
    ("tag-regex-prefix-or-field", "SELECT count(usage) FROM cpu WHERE host =~ /^a/ OR "
     "usage > 30 GROUP BY host"),
    ("tag-regex-matches-empty", "SELECT count(usage) FROM cpu WHERE region =~ /^w?/ "
     "GROUP BY host, region"),
    ("tag-regex-prefix-escaped", "SELECT count(usage) FROM cpu WHERE host =~ /^\\./ GROUP BY host"),
    ("field-gt", "SELECT usage FROM cpu WHERE usage > 30"),
    ("field-le-int", "SELECT count FROM cpu WHERE count <= 2"),
    ("field-eq", "SELECT usage FROM cpu WHERE usage = 15"),
    ("field-neq", "SELECT usage FROM cpu WHERE host = 'c' AND usage != 7"),
    ("field-string-eq", "SELECT usage, state FROM cpu WHERE state = 'busy'"),
    ("field-string-regex", "SELECT state FROM cpu WHERE state =~ /^o/"),
    ("field-and-or-parens", "SELECT usage FROM cpu WHERE (usage > 20 AND usage < 28) OR "
     "(host = 'c' AND usage >= 9)"),
    ("field-or-tag", "SELECT usage FROM cpu WHERE usage < 6 OR host = 'b' AND usage > 34"),
    ("field-arith-condition", "SELECT usage FROM cpu WHERE usage * 2 > 60"),
    ("field-compare-fields", "SELECT usage, idle FROM cpu WHERE usage > idle"),
    ("where-true-literal", "SELECT usage FROM cpu WHERE host = 'c' AND true"),
    ("where-false-literal", "SELECT usage FROM cpu WHERE false"),
]
for slug, text in WHERES:
    q("where/" + slug, text)

# What `time` is compared with, read as 1.6.7's getTimeRange reads it (Go's time.Parse of
# two layouts, InfluxQL's Reduce, its error texts). DELETE reduces its condition first, so
# a parenthesised string is a time there but not in a SELECT.
TIME_OPERANDS = [
    ("one-digit-hour", "SELECT usage FROM cpu WHERE host = 'a' AND time >= "
     "'2026-11-01T0:01:30Z'"),
    ("comma-fraction", "SELECT usage FROM cpu WHERE host = 'a' AND time > "
     "'2026-11-01 00:01:29,5'"),
    ("space-form-with-zone", "SELECT usage FROM cpu WHERE time >= '2026-11-01 00:00:00Z'"),
    ("rfc3339-without-zone", "SELECT usage FROM cpu WHERE time >= '2026-11-01T00:00:00'"),
    ("no-such-day", "SELECT usage FROM cpu WHERE time >= '2026-02-31'"),
    ("no-such-month", "SELECT usage FROM cpu WHERE time >= '2026-13-01'"),
    ("overflow", "SELECT usage FROM cpu WHERE time < '2262-04-11 23:47:17'"),
    ("underflow", "SELECT usage FROM cpu WHERE time > '1677-09-20T19:12:43Z'"),
    ("parenthesised-string", "SELECT usage FROM cpu WHERE time >= ('2026-11-01T00:00:00Z')"),
    ("field", "SELECT usage FROM cpu WHERE time >= host"),
    ("integer-product", "SELECT usage FROM cpu WHERE host = 'a' AND time >= %d * 1000000000"
     % (BASE_S + 100)),
    ("duration-product", "SELECT usage FROM cpu WHERE host = 'a' AND time >= "
     "'2026-11-01T00:00:00Z' + 50s * 2"),
    ("time-plus-number", "SELECT usage FROM cpu WHERE time >= '2026-11-01T00:00:00Z' + 1.5"),
]
for slug, text in TIME_OPERANDS:
    q("where/time-operand-" + slug, text)
for slug, text in [
    ("rfc3339-without-zone", "DELETE FROM cpu WHERE time >= '2026-11-01T00:01:00'"),
    ("parenthesised-string", "DELETE FROM cpu WHERE time >= ('2026-11-01T00:01:00Z'); "
     "SELECT count(usage) FROM cpu"),
    ("field", "DELETE FROM cpu WHERE time >= host"),
]:
    q("mutate/delete-time-operand-" + slug, text, mutates=True)

GROUPS = [
    ("by-tag", "SELECT usage FROM cpu WHERE %s GROUP BY host" % T30),
    ("by-two-tags", "SELECT usage FROM cpu WHERE %s GROUP BY host, region" % T30),
    ("by-star", "SELECT usage FROM cpu WHERE %s GROUP BY *" % T30),
    ("by-regex", "SELECT usage FROM cpu WHERE %s GROUP BY /reg/" % T30),
    ("by-missing-tag", "SELECT usage FROM cpu WHERE %s GROUP BY nope" % T30),
    ("time-1m", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(1m)" % WINDOW),
    ("time-30s-host", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(30s), host" % WINDOW),
    ("time-offset", "SELECT sum(count) FROM cpu WHERE %s GROUP BY time(1m, 15s)" % WINDOW),
    ("time-negative-offset", "SELECT sum(count) FROM cpu WHERE %s GROUP BY time(1m, -15s)"
     % WINDOW),
    ("time-no-upper-bound", "SELECT count(usage) FROM cpu WHERE time >= '2026-11-01T00:00:00Z' "
     "AND time <= '2026-11-01T00:01:50Z' GROUP BY time(40s)"),
    ("time-star", "SELECT max(usage) FROM cpu WHERE %s GROUP BY time(1m), *" % WINDOW),
    ("time-bucket-before-data", "SELECT count(usage) FROM cpu WHERE time >= "
     "'2026-10-31T23:58:00Z' AND time < '2026-11-01T00:01:00Z' GROUP BY time(1m)"),
    ("fill-null", "SELECT mean(usage) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(null)" % WINDOW),
    ("fill-none", "SELECT mean(usage) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(none)" % WINDOW),
    ("fill-previous", "SELECT mean(usage) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(previous)" % WINDOW),
    ("fill-linear", "SELECT mean(usage) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(linear)" % WINDOW),
    ("fill-number", "SELECT mean(usage) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(-1)" % WINDOW),
    ("fill-number-int-field", "SELECT sum(count) FROM cpu WHERE host = 'b' AND %s "
     "GROUP BY time(10s) fill(0)" % WINDOW),
    ("fill-linear-int", "SELECT max(count) FROM cpu WHERE host = 'b' AND %s GROUP BY time(10s) "
     "fill(linear)" % WINDOW),
    ("fill-previous-leading-gap", "SELECT max(usage) FROM cpu WHERE host = 'c' AND "
     "time >= '2026-10-31T23:59:40Z' AND time < '2026-11-01T00:01:00Z' GROUP BY time(20s) "
     "fill(previous)"),
    ("fill-with-tags", "SELECT count(usage) FROM cpu WHERE %s GROUP BY time(20s), host "
     "fill(none)" % WINDOW),
    ("fill-count-default", "SELECT count(usage) FROM cpu WHERE host = 'c' AND %s "
     "GROUP BY time(20s)" % WINDOW),
    ("order-desc", "SELECT usage FROM cpu WHERE host = 'a' ORDER BY time DESC"),
    ("order-desc-group-by-time", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(30s) "
     "ORDER BY time DESC" % WINDOW),
    ("order-asc-explicit", "SELECT usage FROM cpu WHERE host = 'c' ORDER BY time ASC"),
    ("limit", "SELECT usage FROM cpu WHERE host = 'a' LIMIT 3"),
    ("offset", "SELECT usage FROM cpu WHERE host = 'a' OFFSET 10"),
    ("limit-offset", "SELECT usage FROM cpu WHERE host = 'a' LIMIT 2 OFFSET 4"),
    ("limit-per-series", "SELECT usage FROM cpu GROUP BY host LIMIT 2"),
    ("limit-desc", "SELECT usage FROM cpu WHERE host = 'b' ORDER BY time DESC LIMIT 2"),
    ("limit-group-by-time", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(20s) LIMIT 2 "
     "OFFSET 1" % WINDOW),
    ("slimit", "SELECT usage FROM cpu WHERE %s GROUP BY host SLIMIT 2" % T30),
    ("soffset", "SELECT usage FROM cpu WHERE %s GROUP BY host SOFFSET 1" % T30),
    ("slimit-soffset", "SELECT usage FROM cpu WHERE %s GROUP BY host SLIMIT 1 SOFFSET 1" % T30),
    ("slimit-aggregate", "SELECT count(usage) FROM cpu GROUP BY host SLIMIT 1"),
    ("limit-zero", "SELECT usage FROM cpu LIMIT 0"),
    ("tz-raw", "SELECT usage FROM cpu WHERE host = 'a' AND %s tz('Europe/Paris')" % T30),
    ("tz-group-by-time", "SELECT count(usage) FROM cpu WHERE %s GROUP BY time(1m) "
     "tz('America/New_York')" % WINDOW),
    ("tz-day-buckets", "SELECT count(temp) FROM weather WHERE time >= '2026-10-01T00:00:00Z' AND "
     "time < '2026-12-31T00:00:00Z' GROUP BY time(30d) tz('Asia/Tokyo')"),
    ("tz-unknown", "SELECT usage FROM cpu tz('Mars/Olympus')"),
    ("tz-utc-epoch", "SELECT usage FROM cpu WHERE host = 'a' AND %s tz('UTC')" % T30),
]
for slug, text in GROUPS:
    q("group/" + slug, text, dataset="meta" if "weather" in text else "cpu")

# ---------------------------------------------------------------------------
# functions
# ---------------------------------------------------------------------------

AGG_FUNCS = ["count", "mean", "median", "mode", "spread", "stddev", "sum", "first", "last",
             "min", "max"]
for fn in AGG_FUNCS:
    q("func/%s" % fn, "SELECT %s(usage) FROM cpu" % fn)
    q("func/%s-int" % fn, "SELECT %s(count) FROM cpu WHERE host = 'b'" % fn)
    q("func/%s-group-by-time-host" % fn, "SELECT %s(usage) FROM cpu WHERE %s "
      "GROUP BY time(1m), host" % (fn, WINDOW))
q("func/count-string", "SELECT count(state) FROM cpu")
q("func/count-star", "SELECT count(*) FROM cpu")
q("func/count-regex", "SELECT count(/u/) FROM cpu")
q("func/count-distinct", "SELECT count(distinct(state)) FROM cpu")
q("func/count-distinct-int", "SELECT count(DISTINCT count) FROM cpu")
q("func/distinct", "SELECT distinct(state) FROM cpu")
q("func/distinct-int-group", "SELECT distinct(used) FROM mem GROUP BY host")
q("func/distinct-float", "SELECT distinct(usage) FROM cpu WHERE host = 'c'")
q("func/mean-star", "SELECT mean(*) FROM cpu")
q("func/max-star", "SELECT max(*) FROM mem")
q("func/min-max-together", "SELECT min(usage), max(usage) FROM cpu GROUP BY host")
q("func/first-string", "SELECT first(state) FROM cpu")
q("func/last-string", "SELECT last(state) FROM cpu")
q("func/mode-string", "SELECT mode(state) FROM cpu")
q("func/median-even", "SELECT median(usage) FROM cpu WHERE host = 'c'")
q("func/spread-group", "SELECT spread(used) FROM mem GROUP BY host")
q("func/stddev-one-point", "SELECT stddev(usage) FROM cpu WHERE time = '2026-11-01T00:01:40Z' "
  "AND host = 'c'")
q("func/sum-empty", "SELECT sum(usage) FROM cpu WHERE time > '2027-01-01T00:00:00Z'")
q("func/mean-arith", "SELECT mean(usage) * 2 + 1 FROM cpu")
q("func/two-aggregates-arith", "SELECT max(usage) - min(usage) AS range FROM cpu GROUP BY host")
q("func/aggregate-alias", "SELECT mean(usage) AS avg, count(usage) AS n FROM cpu")
q("func/selector-max-with-fields", "SELECT max(usage), idle, host FROM cpu")
q("func/selector-first-with-tag", "SELECT first(usage), region FROM cpu WHERE host = 'b'")
q("func/integral", "SELECT integral(usage) FROM cpu WHERE host = 'a'")
q("func/integral-unit", "SELECT integral(usage, 1m) FROM cpu WHERE host = 'a'")
q("func/integral-group-by-time", "SELECT integral(usage, 10s) FROM cpu WHERE host = 'b' AND "
  "%s GROUP BY time(1m)" % WINDOW,
  note="with GROUP BY time(1m), host 1.6.7 emits the series in a random order")
q("func/integral-int", "SELECT integral(count) FROM cpu WHERE host = 'b'")
for p in ["50", "90", "0", "100", "33.3"]:
    q("func/percentile-%s" % p.replace(".", "_"), "SELECT percentile(usage, %s) FROM cpu" % p)
q("func/percentile-group-by-time", "SELECT percentile(usage, 75) FROM cpu WHERE %s "
  "GROUP BY time(1m)" % WINDOW)
q("func/percentile-int", "SELECT percentile(count, 50) FROM cpu")
q("func/top", "SELECT top(usage, 3) FROM cpu")
q("func/top-tag", "SELECT top(usage, host, 2) FROM cpu")
q("func/top-group-by-host", "SELECT top(usage, 2) FROM cpu GROUP BY host")
q("func/top-with-field", "SELECT top(usage, 2), idle FROM cpu")
q("func/top-group-by-time", "SELECT top(count, 1) FROM cpu WHERE %s GROUP BY time(1m)" % WINDOW)
q("func/bottom", "SELECT bottom(usage, 3) FROM cpu")
q("func/bottom-tag", "SELECT bottom(usage, host, 3) FROM cpu")
q("func/bottom-int", "SELECT bottom(count, 2) FROM cpu GROUP BY host")
q("func/sample-all-points", "SELECT sample(usage, 100) FROM cpu WHERE host = 'c'")
q("func/sample-equal-count", "SELECT sample(used, 6) FROM mem WHERE host = 'a'")
q("func/sample-one-per-bucket", "SELECT sample(usage, 1) FROM cpu WHERE host = 'a' AND %s "
  "GROUP BY time(10s)" % WINDOW)

TRANSFORMS = [
    ("derivative", "derivative({})", "usage"),
    ("derivative-unit", "derivative({}, 1m)", "usage"),
    ("non-negative-derivative", "non_negative_derivative({})", "usage"),
    ("non-negative-derivative-unit", "non_negative_derivative({}, 5s)", "usage"),
    ("difference", "difference({})", "usage"),
    ("non-negative-difference", "non_negative_difference({})", "usage"),
    ("moving-average", "moving_average({}, 3)", "usage"),
    ("cumulative-sum", "cumulative_sum({})", "usage"),
    ("elapsed", "elapsed({})", "usage"),
    ("elapsed-unit", "elapsed({}, 1s)", "usage"),
    ("difference-int", "difference({})", "count"),
    ("cumulative-sum-int", "cumulative_sum({})", "count"),
    ("derivative-int", "derivative({})", "count"),
]
AGGREGATE_OF = {"usage": "mean(usage)", "count": "sum(count)"}
for slug, template, field in TRANSFORMS:
    q("func/%s" % slug, "SELECT %s FROM cpu WHERE host = 'b'" % template.format(field))
    q("func/%s-of-aggregate" % slug, "SELECT %s FROM cpu WHERE %s GROUP BY time(20s), host"
      % (template.format(AGGREGATE_OF[field]), WINDOW))
q("func/derivative-desc", "SELECT derivative(usage) FROM cpu WHERE host = 'a' "
  "ORDER BY time DESC")
q("func/moving-average-window-too-big", "SELECT moving_average(usage, 20) FROM cpu "
  "WHERE host = 'c'")
q("func/elapsed-string", "SELECT elapsed(state, 10s) FROM cpu WHERE host = 'c'")
q("func/difference-group-by-host", "SELECT difference(used) FROM mem GROUP BY host")

MATH_1 = ["abs", "ceil", "floor", "round", "sqrt", "exp", "ln", "log2", "log10", "sin", "cos",
          "tan", "asin", "acos", "atan"]
# Logarithms of 0 or below are -Inf/NaN: those functions get positive inputs here and one
# case each for what 1.6.7 does with -Inf (it cannot encode the JSON).
POSITIVE_ONLY = ("ln", "log2", "log10")
for fn in MATH_1:
    if fn in POSITIVE_ONLY:
        q("math/%s" % fn, "SELECT %s(y) FROM m" % fn, dataset="math")
        q("math/%s-int" % fn, "SELECT %s(z) FROM m" % fn, dataset="math")
        q("math/%s-of-zero" % fn, "SELECT %s(x) FROM m" % fn, dataset="math")
    else:
        q("math/%s" % fn, "SELECT %s(x), %s(y) FROM m" % (fn, fn), dataset="math")
        q("math/%s-int" % fn, "SELECT %s(n) FROM m" % fn, dataset="math")
q("math/pow", "SELECT pow(y, 2), pow(x, 0.5) FROM m", dataset="math")
q("math/pow-int", "SELECT pow(n, 3) FROM m", dataset="math")
q("math/log", "SELECT log(y, 10), log(y, 2) FROM m", dataset="math")
q("math/log-int", "SELECT log(z, 10) FROM m", dataset="math")
q("math/atan2", "SELECT atan2(x, y) FROM m", dataset="math")
q("math/atan2-int", "SELECT atan2(n, z) FROM m", dataset="math")
q("math/abs-of-mean", "SELECT abs(mean(x)) FROM m", dataset="math")
q("math/round-of-aggregate-grouped", "SELECT round(mean(y)) FROM m WHERE time >= "
  "'2026-11-01T00:00:00Z' AND time < '2026-11-01T00:01:00Z' GROUP BY time(20s)",
  dataset="math")
q("math/sqrt-arith", "SELECT sqrt(y) * 2 + abs(n) FROM m", dataset="math")
q("math/nested", "SELECT floor(sqrt(abs(n) * 10)) FROM m", dataset="math")
q("math/abs-wrong-args", "SELECT abs(x, y) FROM m", dataset="math")
q("math/pow-one-arg", "SELECT pow(x) FROM m", dataset="math")
q("math/log-one-arg", "SELECT log(y) FROM m", dataset="math")
q("math/abs-string", "SELECT abs(s) FROM t", dataset="types")
q("math/sum-of-math", "SELECT sum(abs(n)) FROM m", dataset="math",
  note="math of a field inside an aggregate")

# ---------------------------------------------------------------------------
# types: integer, float, string, boolean, missing fields
# ---------------------------------------------------------------------------

TYPE_CASES = [
    ("star", "SELECT * FROM t"),
    ("star-group-by", "SELECT * FROM t GROUP BY *"),
    ("bool-field", "SELECT b FROM t"),
    ("bool-eq", "SELECT b FROM t WHERE b = true"),
    ("string-eq", "SELECT s FROM t WHERE s = 'two'"),
    ("string-html-escape", "SELECT s FROM t WHERE time = '2026-11-01T00:00:40Z'"),
    ("big-int", "SELECT i FROM t WHERE i > 100"),
    ("big-float", "SELECT f FROM t WHERE f > 100"),
    ("int-compare-float", "SELECT i FROM t WHERE i > 0.5"),
    ("float-compare-int", "SELECT f FROM t WHERE f < 2"),
    ("mean-int", "SELECT mean(i) FROM t"),
    ("sum-int", "SELECT sum(i) FROM t"),
    ("count-each", "SELECT count(f), count(i), count(s), count(b) FROM t"),
    ("first-last-bool", "SELECT first(b), last(b) FROM t"),
    ("max-bool", "SELECT max(b) FROM t"),
    ("mean-string", "SELECT mean(s) FROM t"),
    ("sum-bool", "SELECT sum(b) FROM t"),
    ("distinct-bool", "SELECT distinct(b) FROM t"),
    ("mode-bool", "SELECT mode(b) FROM t"),
    ("top-string", "SELECT top(s, 1) FROM t"),
    ("derivative-string", "SELECT derivative(s) FROM t"),
    ("cast-string-to-float", "SELECT s::float FROM t"),
    ("cast-bool-to-integer", "SELECT b::integer FROM t"),
    ("cast-int-to-string", "SELECT i::string FROM t"),
    ("arith-string", "SELECT s + 1 FROM t"),
    ("arith-bool", "SELECT b + 1 FROM t"),
    ("missing-fields-row", "SELECT f, s FROM t WHERE tag1 = 'y'"),
    ("no-tag-series", "SELECT * FROM t WHERE tag1 = ''"),
    ("group-by-tag-empty-value", "SELECT count(f) FROM t GROUP BY tag1"),
    ("show-tag-values", "SHOW TAG VALUES WITH KEY = tag1"),
    ("integer-overflow-sum", "SELECT sum(i) * 1000 FROM t"),
    ("float-int-mixed-arith", "SELECT f + i FROM t"),
    ("string-regex-nomatch", "SELECT s FROM t WHERE s =~ /^zzz/"),
]
TYPE_CASES += [
    ("float-json-format", "SELECT v FROM fl"),
    ("float-json-format-small", "SELECT v FROM fl WHERE v < 1"),
    ("float-sum-large", "SELECT sum(v) FROM fl"),
    ("string-json-escapes", "SELECT s FROM str"),
    ("string-empty-value", "SELECT s FROM str WHERE s = ''"),
    ("escaped-names-star", 'SELECT * FROM "we ird"'),
    ("escaped-names-group-by", 'SELECT "fi eld" FROM "we ird" GROUP BY "ta g"'),
    ("escaped-names-show-series", 'SHOW SERIES FROM "we ird"'),
    ("escaped-names-show-tag-keys", 'SHOW TAG KEYS FROM "we ird"'),
    ("escaped-names-show-tag-values", 'SHOW TAG VALUES FROM "we ird" WITH KEY = "ta g"'),
    ("escaped-names-show-field-keys", 'SHOW FIELD KEYS FROM "we ird"'),
    ("escaped-names-show-measurements", "SHOW MEASUREMENTS"),
    ("escaped-names-where-tag", "SELECT \"fi eld\" FROM \"we ird\" WHERE \"ta g\" = 'v,1'"),
]
for slug, text in TYPE_CASES:
    q("types/" + slug, text, dataset="types")
q("types/escaped-names-csv", "SELECT * FROM \"we ird\" GROUP BY *", dataset="types",
  headers=[["Accept", "application/csv"]])
q("types/float-json-format-csv", "SELECT v FROM fl", dataset="types",
  headers=[["Accept", "application/csv"]])
q("types/float-json-format-pretty", "SELECT v FROM fl", dataset="types",
  params=[("pretty", "true")])

# ---------------------------------------------------------------------------
# errors from misuse (200 with an error inside the result, or 400)
# ---------------------------------------------------------------------------

ERRORS = [
    ("mix-aggregate-raw", "SELECT mean(usage), idle FROM cpu"),
    ("mix-aggregate-tag-only", "SELECT count(usage), host FROM cpu"),
    ("unknown-function", "SELECT frobnicate(usage) FROM cpu"),
    ("count-no-args", "SELECT count() FROM cpu"),
    ("count-two-args", "SELECT count(usage, idle) FROM cpu"),
    ("mean-two-args", "SELECT mean(usage, 2) FROM cpu"),
    ("percentile-one-arg", "SELECT percentile(usage) FROM cpu"),
    ("percentile-string-arg", "SELECT percentile(usage, 'x') FROM cpu"),
    ("top-no-count", "SELECT top(usage) FROM cpu"),
    ("top-zero", "SELECT top(usage, 0) FROM cpu"),
    ("top-with-aggregate", "SELECT top(usage, 2), mean(usage) FROM cpu"),
    ("bottom-float-n", "SELECT bottom(usage, 1.5) FROM cpu"),
    ("sample-zero", "SELECT sample(usage, 0) FROM cpu"),
    ("moving-average-no-n", "SELECT moving_average(usage) FROM cpu"),
    ("moving-average-n-one", "SELECT moving_average(usage, 1) FROM cpu"),
    ("derivative-bad-unit", "SELECT derivative(usage, 'x') FROM cpu"),
    ("derivative-group-by-time-raw", "SELECT derivative(usage) FROM cpu WHERE %s "
     "GROUP BY time(1m)" % WINDOW),
    ("group-by-time-without-aggregate", "SELECT usage FROM cpu WHERE %s GROUP BY time(1m)"
     % WINDOW),
    ("group-by-time-no-lower-bound", "SELECT mean(usage) FROM cpu WHERE time < "
     "'2026-11-01T00:02:00Z' GROUP BY time(1m) fill(none)",),
    ("group-by-field", "SELECT mean(usage) FROM cpu GROUP BY usage"),
    ("group-by-two-times", "SELECT mean(usage) FROM cpu WHERE %s GROUP BY time(1m), time(2m)"
     % WINDOW),
    ("aggregate-of-aggregate", "SELECT mean(max(usage)) FROM cpu"),
    ("aggregate-of-aggregate-grouped", "SELECT mean(max(usage)) FROM cpu WHERE %s "
     "GROUP BY time(1m)" % WINDOW),
    ("distinct-two-args", "SELECT distinct(usage, idle) FROM cpu"),
    ("distinct-with-field", "SELECT distinct(state), usage FROM cpu"),
    ("wildcard-in-math", "SELECT abs(*) FROM cpu"),
    ("only-time", "SELECT time FROM cpu"),
    ("tag-comparison-number", "SELECT usage FROM cpu WHERE host > 5"),
    ("regex-on-field-number", "SELECT usage FROM cpu WHERE usage =~ /1/"),
    ("or-time-and-tag", "SELECT usage FROM cpu WHERE time > '2026-11-01T00:01:00Z' OR "
     "host = 'c'"),
    ("star-with-aggregate", "SELECT *, count(usage) FROM cpu"),
    ("into-then-error", "SELECT usage INTO other FROM nope.autogen.cpu"),
    ("elapsed-zero-unit", "SELECT elapsed(usage, 0s) FROM cpu"),
    ("integral-bad-unit", "SELECT integral(usage, 'x') FROM cpu"),
    ("percentile-too-many", "SELECT percentile(usage, 50, 1) FROM cpu"),
    ("fill-without-group-by-time", "SELECT mean(usage) FROM cpu fill(0)"),
    ("select-from-measurement-in-other-db-missing", "SELECT usage FROM nope..cpu"),
    ("slimit-without-group-by", "SELECT usage FROM cpu WHERE host = 'c' SLIMIT 1"),
    ("math-of-tag", "SELECT abs(host) FROM cpu"),
    ("sqrt-two-args", "SELECT sqrt(usage, 2) FROM cpu"),
    ("atan2-one-arg", "SELECT atan2(usage) FROM cpu"),
    ("cumulative-sum-two-args", "SELECT cumulative_sum(usage, 2) FROM cpu"),
    ("non-negative-difference-no-args", "SELECT non_negative_difference() FROM cpu"),
]
for entry in ERRORS:
    slug, text = entry[0], entry[1]
    q("error/" + slug, text)

# ---------------------------------------------------------------------------
# subqueries: SELECT ... FROM (SELECT ...)
# ---------------------------------------------------------------------------

SUBQUERIES = [
    ("mean-of-max-per-host", "SELECT mean(max) FROM (SELECT max(usage) FROM cpu GROUP BY host)"),
    ("count-of-distinct", "SELECT count(d) FROM (SELECT distinct(state) AS d FROM cpu)"),
    ("count-of-distinct-quoted", 'SELECT count("distinct") FROM (SELECT distinct(state) FROM cpu)'),
    ("count-of-distinct-per-host", "SELECT count(d) FROM (SELECT distinct(usage) AS d FROM cpu "
     "GROUP BY host) GROUP BY host"),
    ("where-outer-field", "SELECT usage FROM (SELECT usage FROM cpu WHERE host = 'c') "
     "WHERE usage > 7"),
    ("where-outer-tag", "SELECT usage FROM (SELECT usage FROM cpu GROUP BY host) "
     "WHERE host = 'c'"),
    ("count-where-outer", "SELECT count(usage) FROM (SELECT usage FROM cpu) WHERE usage > 20"),
    ("group-by-time-both", "SELECT mean(m) FROM (SELECT max(usage) AS m FROM cpu WHERE %s "
     "GROUP BY time(30s), host) WHERE %s GROUP BY time(1m)" % (WINDOW, WINDOW)),
    ("group-by-time-both-host", "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE %s "
     "GROUP BY time(30s), host) WHERE %s GROUP BY time(1m), host" % (WINDOW, WINDOW)),
    ("spread-of-max-group-by-time", "SELECT spread(m) FROM (SELECT max(usage) AS m FROM cpu "
     "WHERE %s GROUP BY time(20s)) WHERE %s GROUP BY time(1m)" % (WINDOW, WINDOW)),
    ("raw-passthrough", "SELECT * FROM (SELECT usage, idle FROM cpu WHERE host = 'a' AND "
     "time < '2026-11-01T00:00:30Z')"),
    ("sum-of-mean-per-host", "SELECT sum(m) FROM (SELECT mean(usage) AS m FROM cpu "
     "GROUP BY host) GROUP BY host"),
    ("max-of-mean-by-time", "SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE %s "
     "GROUP BY time(30s)) WHERE %s" % (WINDOW, WINDOW)),
    ("math-outer", "SELECT m * 2 FROM (SELECT max(usage) AS m FROM cpu GROUP BY host)"),
    ("raw-outer-group-by-host", "SELECT m FROM (SELECT max(usage) AS m FROM cpu GROUP BY host) "
     "GROUP BY host"),
    ("nested-twice", "SELECT max(mm) FROM (SELECT mean(m) AS mm FROM (SELECT max(usage) AS m "
     "FROM cpu GROUP BY host))"),
    ("missing-measurement", "SELECT mean(x) FROM (SELECT usage AS x FROM nope)"),
    ("limit-inner", "SELECT usage FROM (SELECT usage FROM cpu WHERE host = 'a' LIMIT 3)"),
    ("two-aggregates-outer", "SELECT mean(u), max(i) FROM (SELECT usage AS u, idle AS i "
     "FROM cpu WHERE host = 'a')"),
    ("time-range-outer", "SELECT usage FROM (SELECT usage FROM cpu WHERE host = 'b') "
     "WHERE time >= '2026-11-01T00:01:00Z'"),
    ("error-inner", "SELECT mean(x) FROM (SELECT frobnicate(usage) AS x FROM cpu)"),
    ("outer-group-by-tag-of-raw-inner", "SELECT mean(usage) FROM (SELECT usage FROM cpu) "
     "GROUP BY host"),
    ("count-of-raw", "SELECT count(usage) FROM (SELECT usage FROM cpu WHERE host = 'b')"),
    # The outer time range bounds the inner GROUP BY time() (issue 14: without it the inner
    # windows were filled from the epoch to now and the process ran out of memory).
    ("inner-group-by-time-outer-range",
     "SELECT mean(mean) FROM (SELECT mean(usage) FROM cpu GROUP BY time(20s), host) "
     "WHERE time >= '%s' AND time < '%s' GROUP BY time(20s)" % (ts(0), ts(60))),
    ("inner-group-by-time-outer-range-star",
     "SELECT * FROM (SELECT mean(usage) FROM cpu GROUP BY time(20s), host) "
     "WHERE time >= '%s' AND time < '%s'" % (ts(0), ts(40))),
    ("inner-range-intersects-outer",
     "SELECT max(m) FROM (SELECT max(usage) AS m FROM cpu WHERE time >= '%s' "
     "GROUP BY time(20s)) WHERE time >= '%s' AND time < '%s' GROUP BY time(30s)"
     % (ts(30), ts(0), ts(90))),
    ("inner-count-fill-outer-range",
     "SELECT sum(c) FROM (SELECT count(usage) AS c FROM cpu GROUP BY time(10s)) "
     "WHERE time >= '%s' AND time < '%s'" % (ts(0), ts(120))),
]
for slug, text in SUBQUERIES:
    q("subquery/" + slug, text)

# ---------------------------------------------------------------------------
# issue 14: corners where Sluice answered differently (each checked against 1.6.7)
# ---------------------------------------------------------------------------

# `DISTINCT x`, the keyword form, answers as distinct(x).
q("func/distinct-keyword", "SELECT DISTINCT state FROM cpu")
q("func/distinct-keyword-group-by", "SELECT DISTINCT used FROM mem GROUP BY host")
q("func/distinct-keyword-alias", "SELECT DISTINCT usage AS u FROM cpu WHERE host = 'c'")
q("func/distinct-keyword-quoted", "SELECT DISTINCT \"count\" FROM cpu WHERE host = 'b'")
q("subquery/count-of-distinct-keyword", "SELECT count(d) FROM (SELECT DISTINCT state AS d "
  "FROM cpu)")

# first()/last() of points of several series at one time.
for k in range(4):
    q("func/first-equal-times-%d" % k, "SELECT first(value) FROM tie%d" % k, dataset="corner")
    q("func/last-equal-times-%d" % k, "SELECT last(value) FROM tie%d" % k, dataset="corner")
    q("func/first-last-equal-times-desc-%d" % k, "SELECT first(value), last(value) FROM tie%d "
      "ORDER BY time DESC" % k, dataset="corner")
q("func/first-last-equal-times-int", "SELECT first(n), last(n) FROM tie3", dataset="corner")
q("func/first-equal-times-some-series", "SELECT first(value) FROM tiep", dataset="corner")
q("func/last-equal-times-some-series", "SELECT last(value) FROM tiep", dataset="corner")
q("func/first-last-equal-times-grouped", "SELECT first(value), last(value) FROM tiep "
  "WHERE time >= '%s' AND time < '%s' GROUP BY time(20s)" % (ts(0), ts(40)), dataset="corner")
q("func/first-equal-times-regex", "SELECT first(value), last(value) FROM /^tie/",
  dataset="corner")
# With other fields beside the selector, and with GROUP BY time(), 1.6.7 picks differently.
for k in (0, 2, 3):
    q("func/first-equal-times-with-tag-%d" % k, "SELECT first(value), host FROM tie%d" % k,
      dataset="corner")
    q("func/last-equal-times-with-tag-%d" % k, "SELECT last(value), host, n FROM tie%d" % k,
      dataset="corner")
    q("func/first-last-equal-times-by-minute-%d" % k, "SELECT first(value), last(value) "
      "FROM tie%d WHERE time >= '%s' AND time < '%s' GROUP BY time(1m)" % (k, ts(0), ts(60)),
      dataset="corner")
q("func/first-equal-times-some-series-with-tag", "SELECT first(value), host FROM tiep",
  dataset="corner")
q("func/last-equal-times-some-series-with-tag", "SELECT last(value), host FROM tiep",
  dataset="corner")
q("func/first-equal-times-with-time", "SELECT time, first(value) FROM tie3", dataset="corner")
q("subquery/first-last-equal-times", "SELECT first(value), last(value) FROM (SELECT value "
  "FROM tie3 GROUP BY host)", dataset="corner")

# top/bottom asking for more points than LIMIT is a compile error.
q("func/top-n-above-limit", "SELECT top(usage, 3) FROM cpu LIMIT 2")
q("func/top-n-equal-limit", "SELECT top(usage, 2) FROM cpu LIMIT 2")
q("func/bottom-tag-n-above-limit", "SELECT bottom(usage, host, 3) FROM cpu LIMIT 1")
q("func/top-n-above-limit-grouped", "SELECT top(usage, 3) FROM cpu WHERE %s "
  "GROUP BY time(1m), host LIMIT 2" % WINDOW)
q("func/top-n-above-limit-offset", "SELECT top(usage, 3) FROM cpu LIMIT 2 OFFSET 1")
q("func/top-n-above-limit-missing-measurement", "SELECT top(usage, 3) FROM nope LIMIT 2")
q("func/top-n-above-limit-with-mean", "SELECT top(usage, 3), mean(usage) FROM cpu LIMIT 2")
# SELECT top(x, tag, n) INTO writes the tag as a tag.
q("http/into-top-tag", "SELECT top(usage, host, 2) INTO qg.autogen.topped FROM cpu; "
  "SHOW TAG KEYS FROM topped; SHOW FIELD KEYS FROM topped; SELECT * FROM topped",
  method="POST", form=True, mutates=True)
q("http/into-bottom-tag-grouped", "SELECT bottom(usage, region, 1) INTO qg.autogen.bottomed "
  "FROM cpu GROUP BY host; SHOW SERIES FROM bottomed; SELECT * FROM bottomed GROUP BY *",
  method="POST", form=True, mutates=True)

# Column names: a tag and a field of the same name, repeated aliases, wildcards.
q("select/tag-field-same-name-star", "SELECT * FROM same", dataset="corner")
q("select/tag-field-same-name-regex", "SELECT /host/ FROM same", dataset="corner")
q("select/tag-field-same-name-star-and-name", "SELECT *, host FROM same", dataset="corner")
q("select/tag-field-same-name-typed", "SELECT host::tag, host::field FROM same",
  dataset="corner")
q("select/tag-field-same-name-group-by", "SELECT * FROM same GROUP BY host", dataset="corner")
q("select/duplicate-alias-aggregates", "SELECT mean(usage) AS mv, max(usage) AS mv FROM cpu")
q("select/duplicate-alias-raw", "SELECT usage AS x, idle AS x FROM cpu WHERE host = 'a' "
  "AND time < '2026-11-01T00:00:20Z'")
q("select/alias-taken-before-names", "SELECT usage, usage AS usage FROM cpu WHERE host = 'a' "
  "AND time < '2026-11-01T00:00:20Z'")
q("select/alias-like-a-suffix", "SELECT mean(usage) AS mv, max(usage) AS mv, "
  "min(usage) AS mv_1, mean(usage) AS mean, mean(usage) FROM cpu")
q("select/alias-suffix-skipped", "SELECT usage AS usage_1, usage, usage FROM cpu "
  "WHERE host = 'a' AND time < '2026-11-01T00:00:20Z'")
q("select/star-then-field", "SELECT *, usage FROM cpu WHERE host = 'c' AND time < "
  "'2026-11-01T00:00:30Z'")

# Integers at the i64 extremes: sums wrap as 1.6.7's int64 arithmetic does.
q("func/mean-int-extremes", "SELECT mean(v) FROM ext", dataset="corner")
q("func/mean-int-extremes-per-series", "SELECT mean(v) FROM extser", dataset="corner")
MERGE_SPAN = "time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01T02:00:00Z'"
q("merge/sum-two-shards", "SELECT sum(f) FROM two", dataset="merge")
q("merge/sum-three-series-two-shards", "SELECT sum(f) FROM three", dataset="merge")
for function in ("mean", "sum"):
    for field in ("f", "i"):
        call = "%s(%s)" % (function, field)
        q("merge/%s-%s-whole" % (function, field), "SELECT %s FROM mo" % call, dataset="merge")
        q("merge/%s-%s-5m" % (function, field),
          "SELECT %s FROM mo WHERE %s GROUP BY time(5m)" % (call, MERGE_SPAN), dataset="merge")
        q("merge/%s-%s-90m" % (function, field),
          "SELECT %s FROM mo WHERE %s GROUP BY time(90m)" % (call, MERGE_SPAN), dataset="merge")
        q("merge/%s-%s-7m-desc" % (function, field),
          "SELECT %s FROM mo WHERE %s GROUP BY time(7m) ORDER BY time DESC"
          % (call, MERGE_SPAN), dataset="merge")
        q("merge/%s-%s-by-region" % (function, field),
          "SELECT %s FROM mo WHERE %s GROUP BY time(20m), region" % (call, MERGE_SPAN),
          dataset="merge")
        q("merge/%s-%s-field-condition" % (function, field),
          "SELECT %s FROM mo WHERE f > 0 AND %s GROUP BY time(10m)" % (call, MERGE_SPAN),
          dataset="merge")
q("func/mean-int-extremes-grouped", "SELECT mean(v) FROM ext WHERE time >= '%s' AND "
  "time < '%s' GROUP BY time(20s)" % (ts(0), ts(40)), dataset="corner")
q("func/moving-average-int-extremes", "SELECT moving_average(v, 2) FROM ext", dataset="corner")
q("func/moving-average-int-extremes-3", "SELECT moving_average(v, 3) FROM ext",
  dataset="corner")
q("func/moving-average-int-extremes-series", "SELECT moving_average(v, 2) FROM extser",
  dataset="corner")
q("func/derivative-int-extremes", "SELECT derivative(v) FROM ext", dataset="corner")
q("func/sum-int-extremes", "SELECT sum(v), spread(v), difference(v) FROM ext", dataset="corner")

# Names that would become paths: `invalid name`. (A statement that fails stops the
# request: a SHOW after it reports only `not executed`.)
for slug, name in [("dot", "."), ("dotdot", ".."), ("slash", "a/b"), ("only-slash", "/"),
                   ("backslash", "a\\\\b"), ("three-dots", "..."), ("leading-dot", ".a"),
                   ("dots-inside", "a..b")]:
    q("meta/create-database-name-%s" % slug, 'CREATE DATABASE "%s"' % name, dataset="corner")
q("meta/create-database-name-dot-then-show", 'CREATE DATABASE "."; SHOW DATABASES',
  dataset="corner")
q("meta/create-database-name-valid-then-show", 'CREATE DATABASE "a..b"; SHOW DATABASES',
  dataset="corner")
q("meta/create-database-name-bad-escape", 'CREATE DATABASE "a\\b"', dataset="corner")
q("meta/create-database-policy-name-dot", 'CREATE DATABASE d2 WITH NAME "."',
  dataset="corner")
q("meta/create-database-policy-name-slash", 'CREATE DATABASE d2 WITH NAME "x/y"',
  dataset="corner")
q("meta/create-retention-policy-name-dot", 'CREATE RETENTION POLICY "." ON qg_corner '
  "DURATION 1h REPLICATION 1", dataset="corner")
q("meta/create-retention-policy-name-dotdot", 'CREATE RETENTION POLICY ".." ON qg_corner '
  "DURATION 1h REPLICATION 1", dataset="corner")
q("meta/create-retention-policy-name-slash", 'CREATE RETENTION POLICY "a/b" ON qg_corner '
  "DURATION 1h REPLICATION 1", dataset="corner")
q("meta/create-retention-policy-name-dot-missing-db", 'CREATE RETENTION POLICY "." ON nope '
  "DURATION 1h REPLICATION 1", dataset="corner")

# A raw outer query over a subquery: the order of the inner rows (see subquery.rs).
RANGE_2M = "time >= '%s' AND time < '%s'" % (ts(0), ts(120))
q("subquery/raw-inner-group-by-host-merged", "SELECT usage FROM (SELECT usage FROM cpu "
  "GROUP BY host) WHERE time < '%s'" % ts(30))
q("subquery/raw-inner-merged-star", "SELECT * FROM (SELECT usage, idle FROM cpu "
  "GROUP BY host)")
q("subquery/raw-inner-merged-desc", "SELECT * FROM (SELECT usage FROM cpu GROUP BY host) "
  "ORDER BY time DESC")
q("subquery/raw-inner-merged-desc-limit", "SELECT * FROM (SELECT usage FROM cpu "
  "GROUP BY host) ORDER BY time DESC LIMIT 5")
q("subquery/inner-group-by-time-by-window", "SELECT * FROM (SELECT mean(usage) FROM cpu "
  "WHERE %s GROUP BY time(30s), host)" % RANGE_2M)
q("subquery/inner-group-by-time-desc", "SELECT * FROM (SELECT mean(usage) FROM cpu "
  "WHERE %s GROUP BY time(30s), host) ORDER BY time DESC" % RANGE_2M)
q("subquery/inner-selector-by-host-desc", "SELECT * FROM (SELECT max(usage) FROM cpu "
  "GROUP BY host) ORDER BY time DESC")
# The inner statement runs in the outer's direction: an explicit other direction is an
# error, and under a descending outer an inner LIMIT/OFFSET keeps the last rows.
q("subquery/inner-desc-outer-desc", "SELECT usage FROM (SELECT usage FROM cpu WHERE "
  "host = 'a' ORDER BY time DESC) ORDER BY time DESC")
q("subquery/inner-limit-outer-desc", "SELECT usage FROM (SELECT usage FROM cpu WHERE "
  "host = 'a' LIMIT 2 OFFSET 1) ORDER BY time DESC")
q("subquery/inner-limit-by-host-outer-desc", "SELECT count(usage) FROM (SELECT usage FROM cpu "
  "GROUP BY host LIMIT 1) GROUP BY host ORDER BY time DESC")
q("subquery/inner-desc-outer-asc-nested", "SELECT usage FROM (SELECT usage FROM (SELECT "
  "usage FROM cpu ORDER BY time DESC) ORDER BY time DESC)")
# The outer GROUP BY tags reach an aggregate inner as well as a raw one; GROUP BY * reaches
# neither; an outer * leaves out the tag columns of an inner top()/bottom().
q("subquery/outer-tag-into-aggregate-inner", "SELECT max(m) FROM (SELECT max(usage) AS m "
  "FROM cpu) GROUP BY host")
q("subquery/outer-tag-into-selector-inner", "SELECT top FROM (SELECT top(usage, host, 2) "
  "FROM cpu) GROUP BY host")
q("subquery/outer-star-dimension-raw-inner", "SELECT count(usage) FROM (SELECT usage "
  "FROM cpu) GROUP BY *")
q("subquery/outer-star-over-bottom-tags", "SELECT * FROM (SELECT bottom(usage, host, "
  "region, 2) FROM cpu)")
# A raw field beside a lone selector over a subquery takes the selected row's value.
q("subquery/selector-aux-tag", "SELECT max(m), host FROM (SELECT usage AS m FROM cpu "
  "GROUP BY host)")
q("subquery/selector-aux-by-time", "SELECT min(m), host FROM (SELECT max(usage) AS m FROM cpu "
  "GROUP BY host) WHERE time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01T00:02:00Z' "
  "GROUP BY time(1m)")
q("subquery/selector-aux-column", "SELECT first(m), m, host FROM (SELECT usage AS m, host "
  "FROM cpu) GROUP BY region")
q("subquery/inner-fill-null-windows-unseen", "SELECT * FROM (SELECT mean(usage) FROM cpu "
  "WHERE time >= '%s' AND time < '%s' GROUP BY time(10s), host)" % (ts(0), ts(60)))
q("subquery/inner-count-fill-null-unseen", "SELECT * FROM (SELECT count(usage) FROM cpu "
  "WHERE time >= '%s' AND time < '%s' GROUP BY time(10s), host)" % (ts(0), ts(60)))
q("subquery/inner-count-fill-null-aggregated", "SELECT count(c), mean(c) FROM (SELECT "
  "count(usage) AS c FROM cpu WHERE host = 'c' AND %s GROUP BY time(10s))" % RANGE_2M)
q("subquery/inner-count-fill-zero-seen", "SELECT c FROM (SELECT count(usage) AS c FROM cpu "
  "WHERE host = 'c' AND %s GROUP BY time(10s) fill(0))" % RANGE_2M)
q("subquery/inner-fill-previous-seen", "SELECT c FROM (SELECT mean(usage) AS c FROM cpu "
  "WHERE host = 'c' AND %s GROUP BY time(10s) fill(previous))" % RANGE_2M)

# ---------------------------------------------------------------------------
# continuous queries: CREATE / DROP / SHOW and their errors (the data a CQ writes is
# compared in tests/continuous_queries.rs against tests/golden/cq/)
# ---------------------------------------------------------------------------

CQ_BASIC = ("CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN SELECT mean(v) INTO cpu_1m "
            "FROM cpu GROUP BY time(1m) END")
for slug, text in [
        ("create-then-show", CQ_BASIC + "; SHOW CONTINUOUS QUERIES"),
        ("create-resample-then-show", "CREATE CONTINUOUS QUERY cq2 ON qg_meta RESAMPLE "
         "EVERY 30s FOR 2m BEGIN SELECT max(v), min(v) INTO qg_meta.long.cpu_max FROM "
         "cpu WHERE host = 'a' GROUP BY time(1m, 15s), host fill(none) END; "
         "SHOW CONTINUOUS QUERIES"),
        ("create-resample-every-only", "CREATE CONTINUOUS QUERY cq3 ON qg_meta RESAMPLE "
         "EVERY 2h BEGIN SELECT count(free) INTO disk_count FROM qg_meta.forever.disk "
         "GROUP BY time(1h) END; SHOW CONTINUOUS QUERIES"),
        ("create-backreference", "CREATE CONTINUOUS QUERY \"all means\" ON qg_meta BEGIN "
         "SELECT mean(*) INTO qg_meta2.autogen.:MEASUREMENT FROM /.*/ GROUP BY time(1h), * "
         "END; SHOW CONTINUOUS QUERIES"),
        ("create-two-databases", CQ_BASIC + "; CREATE CONTINUOUS QUERY cq1 ON qg_meta2 "
         "BEGIN SELECT sum(f) INTO other_sum FROM other GROUP BY time(10s) END; "
         "SHOW CONTINUOUS QUERIES"),
        ("create-same-twice", CQ_BASIC + "; " + CQ_BASIC + "; SHOW CONTINUOUS QUERIES"),
        ("create-same-name-other-query", CQ_BASIC + "; CREATE CONTINUOUS QUERY cq1 ON "
         "qg_meta BEGIN SELECT max(v) INTO cpu_1m FROM cpu GROUP BY time(1m) END"),
        ("create-db-not-found", "CREATE CONTINUOUS QUERY cq1 ON nope BEGIN SELECT mean(v) "
         "INTO cpu_1m FROM cpu GROUP BY time(1m) END"),
        ("create-source-rp-not-found", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN "
         "SELECT mean(v) INTO cpu_1m FROM qg_meta.nope.cpu GROUP BY time(1m) END"),
        ("create-target-rp-not-found", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN "
         "SELECT mean(v) INTO qg_meta.nope.cpu_1m FROM cpu GROUP BY time(1m) END"),
        ("create-source-db-not-found", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN "
         "SELECT mean(v) INTO cpu_1m FROM nope.autogen.cpu GROUP BY time(1m) END"),
        ("create-no-group-by-time", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN "
         "SELECT mean(v) INTO cpu_1m FROM cpu GROUP BY host END"),
        ("create-no-into", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN "
         "SELECT mean(v) FROM cpu GROUP BY time(1m) END"),
        ("create-raw", "CREATE CONTINUOUS QUERY cq1 ON qg_meta BEGIN SELECT v INTO cpu_copy "
         "FROM cpu END; SHOW CONTINUOUS QUERIES"),
        ("create-resample-for-too-short", "CREATE CONTINUOUS QUERY cq1 ON qg_meta RESAMPLE "
         "FOR 30s BEGIN SELECT mean(v) INTO cpu_1m FROM cpu GROUP BY time(1m) END"),
        ("drop-then-show", CQ_BASIC + "; DROP CONTINUOUS QUERY cq1 ON qg_meta; "
         "SHOW CONTINUOUS QUERIES"),
        ("drop-missing", "DROP CONTINUOUS QUERY nope ON qg_meta"),
        ("drop-db-missing", "DROP CONTINUOUS QUERY cq1 ON nope"),
        ("drop-database-drops-them", CQ_BASIC + "; DROP DATABASE qg_meta; "
         "CREATE DATABASE qg_meta; SHOW CONTINUOUS QUERIES"),
]:
    q("cq/" + slug, text, dataset="meta", mutates=True)
q("cq/show-none-no-db", "SHOW CONTINUOUS QUERIES", dataset="meta", db=None)
q("cq/create-no-db-param", CQ_BASIC, dataset="meta", db=None)
q("cq/create-rp-param", CQ_BASIC + "; SHOW CONTINUOUS QUERIES", dataset="meta",
  params=[("rp", "forever")])
q("cq/create-rp-param-missing", CQ_BASIC, dataset="meta", params=[("rp", "nope")])

# ---------------------------------------------------------------------------
# A WHERE leaf that is not a comparison (`WHERE host`) is refused, in SHOW MEASUREMENTS'
# own wording (the Go value of the node) and everywhere else as `invalid condition
# expression`. Sluice once read such a leaf as true: `DELETE WHERE city` deleted everything.
# ---------------------------------------------------------------------------

for slug, text in [
    ("show-series-tag", "SHOW SERIES WHERE host"),
    ("show-series-number", "SHOW SERIES FROM cpu WHERE 1.5"),
    ("show-tag-keys-string", "SHOW TAG KEYS WHERE host = 'a' OR 'x'"),
    ("show-tag-values-time", "SHOW TAG VALUES WITH KEY = host WHERE time"),
    ("show-tag-values-parenthesised", "SHOW TAG VALUES WITH KEY = host WHERE (region)"),
    ("series-cardinality-tag", "SHOW SERIES EXACT CARDINALITY WHERE host"),
    ("tag-values-cardinality-tag", "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host WHERE host"),
    ("show-measurements-tag", "SHOW MEASUREMENTS WHERE host"),
    ("show-measurements-string", "SHOW MEASUREMENTS WHERE host = 'a' AND 'x'"),
    ("show-measurements-integer", "SHOW MEASUREMENTS WHERE 1"),
    ("show-measurements-number", "SHOW MEASUREMENTS WHERE 2.5"),
    ("show-measurements-true", "SHOW MEASUREMENTS WHERE true"),
]:
    q("where-leaf/" + slug, text, dataset="meta")
q("where-leaf/delete-tag", "DELETE WHERE city; SELECT count(*) FROM weather", dataset="meta",
  mutates=True)
q("where-leaf/drop-series-tag", "DROP SERIES FROM cpu WHERE host; SHOW SERIES FROM cpu",
  dataset="meta", mutates=True)

# Two tag names compared: 1.6.7's index does not compare their values (`k1 = k2` selects the
# series that have both tags, `k1 != k2` those with k1 and without k2), and SHOW MEASUREMENTS
# refuses anything but `tag op 'value'`. Sluice once read `k1 = k2` as true everywhere.
for slug, text in [
    ("show-series-eq", "SHOW SERIES WHERE host = region"),
    ("show-series-neq", "SHOW SERIES WHERE host != region"),
    ("show-series-neq-swapped", "SHOW SERIES WHERE region != host"),
    ("show-series-order-op", "SHOW SERIES WHERE host < region"),
    ("show-series-literals-differ", "SHOW SERIES WHERE 1 = 2"),
    ("show-series-literals-equal", "SHOW SERIES FROM cpu WHERE 'a' = 'a'"),
    ("show-tag-values-eq", "SHOW TAG VALUES WITH KEY = host WHERE host = region"),
    ("show-measurements-eq", "SHOW MEASUREMENTS WHERE host = region"),
    ("show-measurements-value-left", "SHOW MEASUREMENTS WHERE 'a' = host"),
    ("show-measurements-number-right", "SHOW MEASUREMENTS WHERE host != 1"),
]:
    q("where-tags/" + slug, text, dataset="meta")
q("where-tags/delete-eq", "DELETE WHERE host = region; SHOW SERIES", dataset="meta",
  mutates=True)

# DELETE with time under OR: 1.6.7 takes the time comparisons out of the series condition
# and intersects them all into one range, so an OR never widens what is deleted.
for slug, condition in [
    ("tag-or-time", "host = 'a' OR time > '2026-11-01T00:01:00Z'"),
    ("time-or-time", "time > '2026-11-01T00:01:00Z' OR time < '2026-11-01T00:00:30Z'"),
    ("tag-or-tag-and-time", "host = 'a' OR (host = 'b' AND time < '2026-11-01T00:01:00Z')"),
]:
    q("mutate/delete-or-" + slug, "DELETE FROM cpu WHERE %s; "
      "SELECT count(usage) FROM cpu GROUP BY host" % condition, dataset="cpu", mutates=True)

# `_tagKey` in a WHERE: every SHOW statement reads its comparison as true; DELETE reads it
# as an ordinary tag (which no series has).
q("where-tags/delete-tag-key-pseudo", "DELETE FROM weather WHERE _tagKey = 'city'; "
  "SELECT count(*) FROM weather", dataset="meta", mutates=True)
q("where-tags/show-tag-keys-tag-key-pseudo", "SHOW TAG KEYS WHERE _tagKey = 'nope'",
  dataset="meta")

# fill(linear) and fill(none) need a function, whatever the grouping; fill(0) does not.
for slug, text in [
    ("linear-raw", "SELECT usage FROM cpu fill(linear)"),
    ("none-raw-by-tag", "SELECT usage FROM cpu GROUP BY host fill(none)"),
    ("linear-raw-by-time", "SELECT usage FROM cpu WHERE time >= '2026-11-01T00:00:00Z' AND "
     "time < '2026-11-01T00:02:00Z' GROUP BY time(30s) fill(linear)"),
    ("zero-raw", "SELECT usage FROM cpu WHERE host = 'c' fill(0)"),
]:
    q("fill/" + slug, text)

# Cardinalities with GROUP BY tags (one count per measurement and tag group), and LIMIT /
# OFFSET applied to each series' one row; either also turns an estimate into a count.
for slug, text in [
    ("series-by-host", "SHOW SERIES CARDINALITY GROUP BY host"),
    ("series-exact-by-star", "SHOW SERIES EXACT CARDINALITY FROM cpu GROUP BY *"),
    ("series-offset", "SHOW SERIES CARDINALITY OFFSET 1"),
    ("measurement-by-host", "SHOW MEASUREMENT CARDINALITY GROUP BY host"),
    ("tag-key-by-host", "SHOW TAG KEY CARDINALITY GROUP BY host"),
    ("tag-values-by-region", "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host GROUP BY region"),
    ("field-key-by-host-where", "SHOW FIELD KEY CARDINALITY WHERE host = 'a' GROUP BY host"),
]:
    q("show/cardinality-group-" + slug, text, dataset="meta")

# fill(previous) under ORDER BY time DESC fills in the answer's order, count() included (its
# windows before any value in that order are null, not 0).
q("fill/previous-desc-count-by-tag", "SELECT count(usage) FROM cpu WHERE "
  "time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01T00:03:00Z' GROUP BY time(20s), host "
  "fill(previous) ORDER BY time DESC")

# A window fill() made gives the auxiliary fields beside a selector the fill too: the number
# for fill(n) (even for a tag), the row before's for fill(previous), else null.
for slug, tail in [("number", "fill(9)"), ("previous", "fill(previous)"),
                   ("previous-desc", "fill(previous) ORDER BY time DESC"),
                   ("null", "fill(null)")]:
    q("fill/aux-" + slug, "SELECT max(usage), usage, host FROM cpu WHERE "
      "time >= '2026-10-31T23:59:00Z' AND time < '2026-11-01T00:03:00Z' GROUP BY time(40s) "
      + tail)

# SHOW TAG VALUES CARDINALITY with a time condition: 1.6.7 counts as if each series had one
# point at the epoch, so the count is all or nothing by whether the range holds time 0.
for slug, condition in [
    ("from-epoch", "time >= 0"),
    ("after-epoch", "time > 0"),
    ("before-now", "time < now()"),
    ("before-epoch", "time < 0"),
    ("epoch-and-tag", "time >= 0 AND time < '2026-11-02T00:00:00Z' AND host = 'a'"),
]:
    q("show/tag-values-cardinality-time-" + slug,
      "SHOW TAG VALUES EXACT CARDINALITY WITH KEY = host WHERE " + condition, dataset="meta")

# ---------------------------------------------------------------------------
# EXPLAIN. Only answers that do not depend on the storage layout are compared whole: the
# errors, the single empty line of a plan with nothing to read, and plans over a range of a
# shard that holds no point (no cached value, file or block to count). 1.6.7's order of the
# iterators of several calls changes from one server run to the next, so each case has one
# call. EXPLAIN ANALYZE prints timings: tests/explain.rs checks its shape.
# ---------------------------------------------------------------------------

# Inside the shard of 2026-10-29 .. 2026-11-05 (the cpu data), before the first point.
EMPTY_RANGE = "time >= '2026-10-30T00:00:00Z' AND time < '2026-10-31T00:00:00Z'"
for slug, statement, db in [
    ("not-select", "EXPLAIN SHOW DATABASES", ""),
    ("analyze-not-select", "EXPLAIN ANALYZE SHOW MEASUREMENTS", ""),
    ("nothing", "EXPLAIN", ""),
    ("analyze-nothing", "EXPLAIN ANALYZE", ""),
    ("missing-measurement", "EXPLAIN SELECT usage FROM nope", ""),
    ("missing-field", "EXPLAIN SELECT nope FROM cpu", ""),
    ("no-shard-in-range", "EXPLAIN SELECT usage FROM cpu WHERE time > '2030-01-01T00:00:00Z'", ""),
    ("database-not-found", "EXPLAIN SELECT usage FROM nodb.autogen.cpu", ""),
    ("no-db", "EXPLAIN SELECT usage FROM cpu", None),
    ("raw-empty-range", "EXPLAIN SELECT usage, host FROM cpu WHERE " + EMPTY_RANGE, ""),
    ("wildcard-empty-range", "EXPLAIN SELECT * FROM cpu WHERE " + EMPTY_RANGE, ""),
    ("aggregate-empty-range",
     "EXPLAIN SELECT count(usage) FROM cpu WHERE " + EMPTY_RANGE + " GROUP BY time(1h)", ""),
    ("tag-condition-empty-range",
     "EXPLAIN SELECT usage FROM cpu WHERE host = 'a' AND " + EMPTY_RANGE, ""),
    ("subquery-empty-range",
     "EXPLAIN SELECT max(m) FROM (SELECT mean(usage) AS m FROM cpu WHERE " + EMPTY_RANGE
     + " GROUP BY time(1h))", ""),
    ("two-measurements-empty-range", "EXPLAIN SELECT used FROM mem, cpu WHERE " + EMPTY_RANGE, ""),
    ("selector-aux-empty-range",
     "EXPLAIN SELECT top(usage, 2), idle FROM cpu WHERE " + EMPTY_RANGE, ""),
    ("derivative-empty-range",
     "EXPLAIN SELECT derivative(mean(usage)) FROM cpu WHERE " + EMPTY_RANGE
     + " GROUP BY time(1h)", ""),
]:
    q("explain/" + slug, statement, db=db)

# ---------------------------------------------------------------------------
# The generated cases (tools/gen_query_corpus.py writes generated_cases.json: its datasets
# and its cases, each a GET /query of one statement on the dataset's database, or with no
# db parameter when "db" is null). They come after the hand-written ones, all on one
# dataset, so replaying them costs a single load.
# ---------------------------------------------------------------------------

GENERATED_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                              "generated_cases.json")
with open(GENERATED_PATH, encoding="utf-8") as generated_file:
    GENERATED = json.load(generated_file)
for dataset_name, definition in GENERATED["datasets"].items():
    DATASETS[dataset_name] = definition
    DATABASE_OF[dataset_name] = definition["databases"][0]["name"]
for entry in GENERATED["cases"]:
    q(entry["name"], entry["q"], dataset=entry["dataset"], db=entry.get("db", ""),
      method="GET", mutates=False)

# ---------------------------------------------------------------------------
# Answers that show shard ids go first: ids count every shard the server ever created, so
# they depend on every load before them; at the front only the first loads come before.
# ---------------------------------------------------------------------------

SHARD_ID_CASES = ["meta/show-shards", "meta/show-shard-groups", "http/epoch-s-show-shards",
                  "mutate/delete-field-condition"]
CASES.sort(key=lambda entry: entry["name"] not in SHARD_ID_CASES)
