#!/usr/bin/env python3
"""Generate the systematic part of the golden /query corpus.

Usage: python3 tools/gen_query_corpus.py [--out tests/golden/query/generated_cases.json]
                                         [--check]

What it does: builds, deterministically (no randomness at all), the dataset `gen` and a
list of /query cases that walk InfluxQL's dimensions one matrix at a time:

  gen-func     every function (aggregates, selectors, transformations, math, holt_winters,
               the technical-analysis functions) x field type (float, integer, string,
               boolean) x shape (raw, GROUP BY tag, GROUP BY time, GROUP BY time + tag),
               plus each function's optional arguments
  gen-fill     fill(none|null|0|previous|linear) x function x field type x GROUP BY time
               [+ tag]
  gen-order    ORDER BY time DESC / LIMIT / OFFSET / SLIMIT / SOFFSET x function x shape
  gen-tz       tz() around the DST changes of New York, Paris and Lord Howe (and Kolkata's
               half-hour offset) x GROUP BY time(1h | 1d) x function
  gen-extreme  functions over i64 extremes and the largest/smallest floats
  gen-wild     functions of `*` and of a regex, and of a tag
  gen-math     arithmetic and bitwise operators between fields, literals and aggregates
  gen-subquery outer function x inner query shape x outer shape
  gen-subquery-combo  seeded random inner x outer x WHERE x GROUP BY x ORDER x LIMIT
  gen-show     every SHOW statement with its clauses (ON, FROM, WITH MEASUREMENT, WITH KEY,
               WHERE, LIMIT, OFFSET, ...), clause options combined all-pairs
  gen-error    wrong argument counts and types for every function, unknown functions
  gen-parse    every prefix of a few long statements (cut after each token), and other
               malformed statements

The output (default tests/golden/query/generated_cases.json) holds the dataset and the
cases, one case per line: {"name", "dataset", "q", optional "db" (null: no db parameter)}.
tests/golden/query/cases.py appends them to its hand-written cases; then
tools/record_query_golden.py records every answer from InfluxDB 1.6.7 and
tests/golden_query.rs replays them against Sluice. `--check` only verifies that the file on
disk is what this generator produces (for CI or review). Case names are stable: they are
built from the matrix coordinates, never from a counter.

Python 3 standard library only.
"""

import argparse
import calendar
import itertools
import json
import os
import re
import sys
import time

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUT_PATH = os.path.join(REPO_ROOT, "tests", "golden", "query", "generated_cases.json")

DATASET = "gen"
DB = "qg_gen"
DB2 = "qg_gen2"

# 2026-11-01T00:00:00Z in Unix seconds (the hand-written cases use the same base).
BASE_S = 1793491200
HOUR_S = 3600
I64_MIN, I64_MAX = -9223372036854775808, 9223372036854775807

# ---------------------------------------------------------------------------
# the dataset
# ---------------------------------------------------------------------------

# Measurement `g`: three series (host a and b with a region, c without), one point every
# 10 s from BASE_S. Host b has gaps (k = 6, 7) and a row without `f` (k = 5); host c is
# sparse. No value is 0, so ln/log of a field are never -Inf (1.6.7 cannot encode -Inf:
# every such case would answer the same marshal error); negative values give NaN -> null.
G_A = {
    "f": [10.5, 12, 11.25, 15, 14.5, 13, 16.75, 18, 17.5, 20, 19.25, 21],
    "i": [3, -1, 4, 1, -5, 9, 2, 6, -5, 3, 5, 8],
    "s": ["ok", "ok", "warn", "ok", "crit", "warn", "ok", "ok", "warn", "ok", "ok", "crit"],
    "b": [True, False, True, True, False, True, False, False, True, True, False, True],
}
# k -> {field: value}; b's `f` drops and rises again (non_negative_* see a reset).
G_B = {
    0: {"f": 30, "i": 10, "s": "ok", "b": True},
    1: {"f": 28.5, "i": 8, "b": False},
    2: {"f": 31, "i": 8, "s": "warn", "b": False},
    3: {"f": 35, "i": 12, "s": "ok", "b": True},
    4: {"f": 33.5, "i": 7, "s": "ok"},
    5: {"i": 3, "s": "crit", "b": True},
    8: {"f": 27.5, "i": 1, "s": "ok", "b": False},
    9: {"f": 26, "i": -2, "b": True},
    10: {"f": 40, "i": 15, "s": "warn", "b": True},
    11: {"f": 25, "i": 4, "s": "ok", "b": False},
}
G_C = {
    0: {"f": -2.5, "i": -7, "s": "x y", "b": True},
    1: {"f": 0.75, "i": 2, "s": "z", "b": False},
    5: {"f": 3, "i": 5, "s": "x y", "b": False},
    9: {"f": -1, "i": -3, "s": "z", "b": True},
}

# DST clusters of `dst` (site x every hour near the change and every 4 h for 36 h around
# it, site y every other of those): (slug, UTC time of the change, minutes between the
# close points).
def utc_seconds(text):
    """Unix seconds of a UTC time written YYYY-MM-DDTHH:MM:SSZ."""
    return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))


DST_CLUSTERS = [
    ("ny-fall", utc_seconds("2026-11-01T06:00:00Z"), 60),           # -04:00 -> -05:00
    ("ny-spring", utc_seconds("2026-03-08T07:00:00Z"), 60),         # -05:00 -> -04:00
    ("paris-fall", utc_seconds("2026-10-25T01:00:00Z"), 60),        # +02:00 -> +01:00
    ("paris-spring", utc_seconds("2026-03-29T01:00:00Z"), 60),      # +01:00 -> +02:00
    ("lordhowe-spring", utc_seconds("2026-10-03T15:30:00Z"), 30),   # +10:30 -> +11:00
]


def fmt_value(field, value):
    if field == "f":
        return repr(float(value)) if value != int(value) else "%d" % value
    if field == "i":
        return "%di" % value
    if field == "s":
        return '"%s"' % value
    return "true" if value else "false"


def field_set(values):
    return ",".join("%s=%s" % (k, fmt_value(k, values[k])) for k in ("f", "i", "s", "b")
                    if k in values)


def dst_times(change_s, close_minutes):
    """The points of one DST cluster (seconds): coarse 4-hourly, fine near the change."""
    coarse = {change_s + 4 * HOUR_S * j for j in range(-9, 9)}
    fine = {change_s + 60 * close_minutes * j for j in range(-6, 6)}
    return sorted(coarse | fine)


def gen_lines():
    lines = []
    for k in range(12):
        lines.append("g,host=a,region=east %s %d"
                     % (field_set({f: G_A[f][k] for f in G_A}), BASE_S + 10 * k))
    for k, values in G_B.items():
        lines.append("g,host=b,region=west %s %d" % (field_set(values), BASE_S + 10 * k))
    for k, values in G_C.items():
        lines.append("g,host=c %s %d" % (field_set(values), BASE_S + 10 * k))
    # `x`: integers at the i64 extremes, floats at the largest and smallest magnitudes.
    for k, (v, w) in enumerate([(I64_MAX, 1.7976931348623157e308), (I64_MIN, -1e308),
                                (-1, 5e-324), (I64_MAX, 1.7976931348623157e308),
                                (1, -2.5)]):
        lines.append("x,k=%s v=%di,w=%r %d" % ("p" if k < 3 else "q", v, w, BASE_S + 10 * k))
    for _slug, change_s, close in DST_CLUSTERS:
        for j, t in enumerate(dst_times(change_s, close)):
            value = (j * 7) % 11 + 0.5
            lines.append("dst,site=x v=%r,n=%di %d" % (value, j, t))
            if j % 2 == 0:
                lines.append("dst,site=y v=%r,n=%di %d" % (value * 2, -j, t))
    return lines


def dataset():
    return {
        "databases": [
            {"name": DB, "retention_policies": [
                {"name": "rp1", "duration": "5200w", "shard_duration": "1w"}]},
            {"name": DB2},
        ],
        "writes": [
            {"db": DB, "precision": "s", "lines": gen_lines()},
            {"db": DB, "rp": "rp1", "precision": "s",
             "lines": ["g,host=a,region=east f=99,i=99i %d" % BASE_S,
                       "g,host=z f=98 %d" % (BASE_S + 60)]},
            {"db": DB2, "precision": "s",
             "lines": ["h,site=x,kind=k1 f=1 %d" % BASE_S,
                       "h,site=y f=2,i=3i %d" % BASE_S]},
        ],
    }


# ---------------------------------------------------------------------------
# cases
# ---------------------------------------------------------------------------

CASES = []
NAMES = set()


def add(name, statement, db=""):
    """One GET /query case on the gen dataset; db "" is qg_gen, None is no db parameter."""
    if name in NAMES:
        raise ValueError("duplicate case name " + name)
    NAMES.add(name)
    entry = {"name": name, "dataset": DATASET, "q": statement}
    if db != "":
        entry["db"] = db
    CASES.append(entry)


def rfc(seconds):
    """RFC 3339 text of a Unix time in seconds (UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


# The GROUP BY time window of `g`: one empty bucket before the data and one after it, so
# fill() has leading and trailing gaps besides host b's and c's inner ones.
WINDOW = "time >= '%s' AND time < '%s'" % (rfc(BASE_S - 20), rfc(BASE_S + 140))
INTERVAL = "20s"

FIELD_TYPES = [("float", "f"), ("integer", "i"), ("string", "s"), ("boolean", "b")]
NUMERIC = ("float", "integer")
ALL_TYPES = ("float", "integer", "string", "boolean")
# The aggregate a transformation is applied to under GROUP BY time, per field type.
INNER_AGGREGATE = {"float": "mean", "integer": "max", "string": "first", "boolean": "first"}


class Fn:
    """One InfluxQL function: how to call it and what it accepts.

    kind       aggregate | selector | transform (needs an aggregate under GROUP BY time) |
               math | ta (technical analysis) | holt (GROUP BY time only)
    extra      the arguments after the field, as text (", 2")
    types      the field types it accepts (others get two shapes: their error)
    variants   other argument lists worth a case each: [(slug, extra)]
    min_args   how many arguments a call needs (the error matrix calls it with one fewer)
    """

    def __init__(self, name, kind, extra="", types=NUMERIC, variants=(), min_args=1):
        self.name, self.kind, self.extra, self.types = name, kind, extra, types
        self.variants = list(variants)
        self.min_args = min_args

    @property
    def slug(self):
        return self.name.replace("_", "-")

    def call(self, field_type, shape, extra=None, field=None):
        """The select expression for a field type and a shape (of `field` when given,
        else of the dataset's field of that type)."""
        field = field or dict(FIELD_TYPES)[field_type]
        extra = self.extra if extra is None else extra
        grouped_by_time = shape.startswith("by-time")
        if self.kind in ("transform", "math", "ta", "holt") and (
                grouped_by_time or self.kind == "holt"):
            field = "%s(%s)" % (INNER_AGGREGATE[field_type], field)
        return "%s(%s%s)" % (self.name, field, extra)


TA_VARIANTS = [("hold-2", ", 3, 2"), ("warmup-simple", ", 3, -1, 'simple'"),
               ("warmup-none", ", 3, -1, 'none'"), ("period-5", ", 5")]
FUNCTIONS = [
    # aggregates
    Fn("count", "aggregate", types=ALL_TYPES),
    Fn("distinct", "aggregate", types=ALL_TYPES),
    Fn("integral", "aggregate", variants=[("unit-1m", ", 1m"), ("unit-1ms", ", 1ms")]),
    Fn("mean", "aggregate"),
    Fn("median", "aggregate"),
    Fn("mode", "aggregate", types=ALL_TYPES),
    Fn("spread", "aggregate"),
    Fn("stddev", "aggregate"),
    Fn("sum", "aggregate"),
    # selectors
    Fn("bottom", "selector", ", 2", variants=[("tag", ", host, 2"), ("n-1", ", 1"),
                                              ("n-above-points", ", 30")], min_args=2),
    Fn("first", "selector", types=ALL_TYPES),
    Fn("last", "selector", types=ALL_TYPES),
    Fn("max", "selector"),
    Fn("min", "selector"),
    Fn("percentile", "selector", ", 50", variants=[("p0", ", 0"), ("p25", ", 25"),
                                                    ("p33-3", ", 33.3"), ("p100", ", 100"),
                                                    ("p150", ", 150")],
       min_args=2),
    # sample(x, N) is random below N points per group; 30 keeps every point.
    Fn("sample", "selector", ", 30", types=ALL_TYPES, min_args=2),
    Fn("top", "selector", ", 2", variants=[("tag", ", host, 2"), ("n-1", ", 1"),
                                           ("n-above-points", ", 30"),
                                           ("two-tags", ", host, region, 2")], min_args=2),
    # transformations
    Fn("cumulative_sum", "transform"),
    Fn("derivative", "transform", variants=[("unit-1m", ", 1m"), ("unit-1ms", ", 1ms")]),
    Fn("difference", "transform"),
    Fn("elapsed", "transform", types=ALL_TYPES, variants=[("unit-1s", ", 1s"),
                                                          ("unit-1m", ", 1m")]),
    Fn("moving_average", "transform", ", 2", variants=[("n-3", ", 3"), ("n-20", ", 20")],
       min_args=2),
    Fn("non_negative_derivative", "transform", variants=[("unit-1m", ", 1m")]),
    Fn("non_negative_difference", "transform"),
    # math
    Fn("abs", "math"), Fn("acos", "math"), Fn("asin", "math"), Fn("atan", "math"),
    Fn("atan2", "math", ", 2", variants=[("of-field", ", f"), ("of-int", ", -3")],
       min_args=2),
    Fn("ceil", "math"), Fn("cos", "math"), Fn("exp", "math"), Fn("floor", "math"),
    Fn("ln", "math"),
    Fn("log", "math", ", 2", variants=[("base-10", ", 10"), ("base-0-5", ", 0.5")],
       min_args=2),
    Fn("log2", "math"), Fn("log10", "math"),
    Fn("pow", "math", ", 2", variants=[("exp-0-5", ", 0.5"), ("exp-neg", ", -1")],
       min_args=2),
    Fn("round", "math"), Fn("sin", "math"), Fn("sqrt", "math"), Fn("tan", "math"),
    # holt_winters: of an aggregate, GROUP BY time only
    Fn("holt_winters", "holt", ", 3, 0", variants=[("seasonal", ", 4, 2"),
                                                   ("n-0", ", 0, 0")], min_args=3),
    Fn("holt_winters_with_fit", "holt", ", 3, 0", variants=[("seasonal", ", 2, 2")],
       min_args=3),
    # technical analysis
    Fn("chande_momentum_oscillator", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
    Fn("exponential_moving_average", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
    Fn("double_exponential_moving_average", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
    Fn("triple_exponential_moving_average", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
    Fn("kaufmans_efficiency_ratio", "ta", ", 3", variants=TA_VARIANTS[:1] + TA_VARIANTS[3:],
       min_args=2),
    Fn("kaufmans_adaptive_moving_average", "ta", ", 3",
       variants=TA_VARIANTS[:1] + TA_VARIANTS[3:], min_args=2),
    Fn("triple_exponential_derivative", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
    Fn("relative_strength_index", "ta", ", 3", variants=TA_VARIANTS, min_args=2),
]
FN = {fn.name: fn for fn in FUNCTIONS}
# The functions of the fill, ORDER BY/LIMIT and tz() matrices. A representative stands for
# a whole class of functions where a matrix would only repeat itself
# (math functions are pointwise: one behaves as the others under fill, ORDER BY, ...).
# Likewise the technical-analysis functions share their windowing, and holt_winters_with_fit
# differs from holt_winters only in the fitted rows.
MATH_REPRESENTATIVES = ["abs", "round", "pow"]
TA_REPRESENTATIVES = ["exponential_moving_average", "relative_strength_index",
                      "triple_exponential_derivative"]
MATRIX_FUNCTIONS = [fn for fn in FUNCTIONS if fn.kind in ("aggregate", "selector",
                                                          "transform")] + \
    [FN[name] for name in MATH_REPRESENTATIVES + TA_REPRESENTATIVES + ["holt_winters"]]

SHAPES = ["raw", "by-tag", "by-time", "by-time-tag"]


def select_statement(expr, shape, source="g", where=None, tail=""):
    """SELECT expr FROM source in one of the four shapes, with an optional extra condition
    and text after the GROUP BY (fill, ORDER BY, LIMIT, tz...)."""
    conditions = []
    if where:
        conditions.append(where)
    if shape.startswith("by-time"):
        conditions.append(WINDOW)
    text = "SELECT %s FROM %s" % (expr, source)
    if conditions:
        text += " WHERE " + " AND ".join(conditions)
    group = {"raw": [], "by-tag": ["host"], "by-time": ["time(%s)" % INTERVAL],
             "by-time-tag": ["time(%s)" % INTERVAL, "host"]}[shape]
    if group:
        text += " GROUP BY " + ", ".join(group)
    if tail:
        text += " " + tail
    return text


def single_series_filter(fn, shape):
    """integral() grouped by a tag comes back from 1.6.7 in a random series order; keep
    those answers stable by giving them one series."""
    if fn.name == "integral" and shape in ("by-tag", "by-time-tag"):
        return "host = 'b'"
    return None


def gen_functions():
    """gen-func: every function x field type x shape, its optional arguments, pairs."""
    for fn in FUNCTIONS:
        for field_type, _field in FIELD_TYPES:
            accepted = field_type in fn.types
            shapes = SHAPES if accepted else ["raw", "by-time-tag"]
            for shape in shapes:
                add("gen-func/%s/%s/%s" % (fn.slug, field_type, shape),
                    select_statement(fn.call(field_type, shape), shape,
                                     where=single_series_filter(fn, shape)))
        # Optional arguments: their effect does not depend on the field type.
        for slug, extra in fn.variants:
            for shape in ("raw", "by-time-tag"):
                add("gen-func/%s/%s/float/%s" % (fn.slug, slug, shape),
                    select_statement(fn.call("float", shape, extra), shape,
                                     where=single_series_filter(fn, shape)))
        # A window that starts inside the data: what the first window's transformation
        # sees before the lower bound.
        if fn.kind in ("transform", "ta", "holt"):
            add("gen-func/%s/float/by-time-tag-inside-data" % fn.slug,
                select_statement(fn.call("float", "by-time-tag"), "raw",
                                 where="time >= '%s' AND time < '%s'"
                                 % (rfc(BASE_S + 40), rfc(BASE_S + 120)),
                                 tail="GROUP BY time(%s), host" % INTERVAL))
        # A transformation or math function of a raw field under GROUP BY time.
        if fn.kind in ("transform", "math", "ta"):
            add("gen-func/%s/float/by-time-of-raw-field" % fn.slug,
                select_statement("%s(f%s)" % (fn.name, fn.extra), "by-time"))
    # Two functions in one statement, and a function next to a field or a tag.
    for slug, expr in [
            ("mean-and-max", "mean(f), max(f)"),
            ("min-max-same-field-int", "min(i), max(i)"),
            ("first-last-string", "first(s), last(s)"),
            ("count-each-type", "count(f), count(i), count(s), count(b)"),
            ("sum-and-derivative", "sum(f), derivative(sum(f))"),
            ("selector-and-tag", "max(f), host"),
            ("selector-and-field", "max(f), i"),
            ("two-selectors", "max(f), min(f)"),
            ("top-and-field", "top(f, 2), i"),
            ("percentile-and-count", "percentile(f, 90), count(f)"),
            ("holt-winters-and-mean", "holt_winters(mean(f), 2, 0), mean(f)"),
            ("ema-and-mean", "exponential_moving_average(mean(f), 2), mean(f)")]:
        for shape in SHAPES:
            add("gen-func/combined-%s/%s" % (slug, shape), select_statement(expr, shape))


FILLS = [("none", "fill(none)"), ("null", "fill(null)"), ("zero", "fill(0)"),
         ("previous", "fill(previous)"), ("linear", "fill(linear)")]
# Functions that keep string and boolean values (their fills are worth a case too).
STRING_CAPABLE = ["count", "distinct", "mode", "first", "last", "sample", "elapsed"]


def gen_fill():
    """gen-fill: fill() x function x field type under GROUP BY time [+ tag]."""
    for fn in MATRIX_FUNCTIONS:
        for fill_slug, fill in FILLS:
            types = ("float", "integer") if fn.kind in ("aggregate", "selector") else ("float",)
            for field_type in types:
                shapes = ["by-time-tag"]
                if fn.kind in ("aggregate", "selector") and field_type == "float":
                    shapes.append("by-time")
                for shape in shapes:
                    add("gen-fill/%s/%s/%s/%s" % (fn.slug, field_type, shape, fill_slug),
                        select_statement(fn.call(field_type, shape), shape,
                                         where=single_series_filter(fn, shape), tail=fill))
    for name in STRING_CAPABLE:
        for field_type in ("string", "boolean"):
            for fill_slug, fill in FILLS:
                add("gen-fill/%s/%s/by-time-tag/%s" % (FN[name].slug, field_type, fill_slug),
                    select_statement(FN[name].call(field_type, "by-time-tag"), "by-time-tag",
                                     tail=fill))
    # Numbers of the other type, and fill beside two functions.
    for slug, expr, fill in [
            ("float-fill-of-int", "sum(i)", "fill(-1.5)"),
            ("int-fill-of-float", "mean(f)", "fill(7)"),
            ("big-fill", "max(i)", "fill(9223372036854775807)"),
            ("negative-fill", "count(f)", "fill(-3)"),
            ("fill-two-functions", "count(f), mean(f)", "fill(linear)"),
            ("fill-previous-two-functions", "min(i), max(f)", "fill(previous)"),
            ("fill-zero-two-functions", "first(s), sum(i)", "fill(0)")]:
        for shape in ("by-time", "by-time-tag"):
            add("gen-fill/%s/%s" % (slug, shape), select_statement(expr, shape, tail=fill))
    # GROUP BY time with an offset, and a window that cuts a bucket.
    for fill_slug, fill in FILLS:
        add("gen-fill/offset-5s/%s" % fill_slug,
            "SELECT mean(f), count(i) FROM g WHERE %s GROUP BY time(%s, 5s), host %s"
            % (WINDOW, INTERVAL, fill))
        add("gen-fill/desc/%s" % fill_slug,
            "SELECT mean(f) FROM g WHERE %s GROUP BY time(%s), host %s ORDER BY time DESC"
            % (WINDOW, INTERVAL, fill))
        add("gen-fill/limit/%s" % fill_slug,
            "SELECT max(i) FROM g WHERE %s GROUP BY time(%s), host %s LIMIT 3 OFFSET 2"
            % (WINDOW, INTERVAL, fill))


# LIMIT alone and SOFFSET alone are left out: LIMIT n OFFSET m and SLIMIT n SOFFSET m walk
# the same paths.
ORDER_MODIFIERS = [
    ("desc", "ORDER BY time DESC"),
    ("offset", "OFFSET 2"),
    ("limit-offset", "LIMIT 2 OFFSET 1"),
    ("desc-limit-offset", "ORDER BY time DESC LIMIT 2 OFFSET 1"),
    ("slimit", "SLIMIT 2"),
    ("slimit-soffset", "SLIMIT 1 SOFFSET 1"),
    ("all", "ORDER BY time DESC LIMIT 1 OFFSET 1 SLIMIT 2 SOFFSET 1"),
]
# One row per series without GROUP BY time: row LIMIT/OFFSET only keep or drop it.
SINGLE_ROW_MODIFIERS = ["desc", "offset", "slimit-soffset", "all"]
MULTI_ROW_SELECTORS = ("bottom", "top", "sample", "distinct")


def gen_order():
    """gen-order: ORDER BY time DESC / LIMIT / OFFSET / SLIMIT / SOFFSET x function x shape."""
    plain = [("field", "f"), ("star", "*"), ("field-and-tag", "f, host")]
    for slug, expr in plain:
        for shape in ("raw", "by-tag"):
            for mod_slug, mod in ORDER_MODIFIERS:
                add("gen-order/%s/%s/%s" % (slug, shape, mod_slug),
                    select_statement(expr, shape, tail=mod))
    for fn in MATRIX_FUNCTIONS:
        single_row = fn.kind in ("aggregate", "selector") and \
            fn.name not in MULTI_ROW_SELECTORS
        shapes = ["by-time-tag"] if fn.kind == "holt" else ["raw", "by-tag", "by-time-tag"]
        for shape in shapes:
            for mod_slug, mod in ORDER_MODIFIERS:
                if shape == "raw" and mod_slug not in ("desc", "limit-offset",
                                                       "desc-limit-offset"):
                    continue
                if shape == "by-tag" and single_row and mod_slug not in SINGLE_ROW_MODIFIERS:
                    continue
                add("gen-order/%s/%s/%s" % (fn.slug, shape, mod_slug),
                    select_statement(fn.call("float", shape), shape,
                                     where=single_series_filter(fn, shape), tail=mod))


TZ_CASES = [
    # (slug, zone, cluster)
    ("new-york-fall", "America/New_York", "ny-fall"),
    ("new-york-spring", "America/New_York", "ny-spring"),
    ("paris-fall", "Europe/Paris", "paris-fall"),
    ("paris-spring", "Europe/Paris", "paris-spring"),
    ("lord-howe-spring", "Australia/Lord_Howe", "lordhowe-spring"),
    ("kolkata", "Asia/Kolkata", "ny-fall"),
]
TZ_FULL_FUNCTIONS = ["count", "mean", "max", "first", "last", "sum"]


def cluster_window(cluster, interval):
    """A window around a cluster's DST change: 12 close points for 1h, three days for 1d."""
    change_s, close = {slug: (c, m) for slug, c, m in DST_CLUSTERS}[cluster]
    half = 36 * HOUR_S if interval.startswith("1d") else 6 * 60 * close
    return "time >= '%s' AND time < '%s'" % (rfc(change_s - half), rfc(change_s + half))


def tz_select(expr, tz_slug, interval, group_by_site=True, tail="", grouped=True):
    """SELECT expr FROM dst around the DST change of a TZ_CASES entry, with its tz():
    GROUP BY time(interval) [, site] when grouped, else GROUP BY site or nothing."""
    _slug, zone, cluster = next(c for c in TZ_CASES if c[0] == tz_slug)
    text = "SELECT %s FROM dst WHERE %s" % (expr, cluster_window(cluster, interval))
    if grouped:
        text += " GROUP BY time(%s)%s" % (interval, ", site" if group_by_site else "")
    elif group_by_site:
        text += " GROUP BY site"
    if tail:
        text += " " + tail
    return text + " tz('%s')" % zone


def tz_call(fn, shape):
    """The function's call on dst's float field."""
    return fn.call("float", shape, field="v")


def gen_tz():
    """gen-tz: tz() around DST changes x GROUP BY time(1h | 1d) x function."""
    for fn in MATRIX_FUNCTIONS:
        if fn.name in TZ_FULL_FUNCTIONS:
            combos = [(tz[0], interval) for tz in TZ_CASES for interval in ("1h", "1d")]
        else:
            combos = [("new-york-fall", "1d"), ("lord-howe-spring", "1h")]
        for tz_slug, interval in combos:
            if fn.name == "integral":
                continue  # random series order when grouped by site (see single_series_filter)
            add("gen-tz/%s/%s/%s" % (fn.slug, tz_slug, interval),
                tz_select(tz_call(fn, "by-time-tag"), tz_slug, interval))
        if fn.kind != "holt":
            for tz_slug in ("paris-fall", "lord-howe-spring"):
                add("gen-tz/%s/%s/raw" % (fn.slug, tz_slug),
                    tz_select(tz_call(fn, "raw"), tz_slug, "1h", group_by_site=False,
                              grouped=False))
    for tz_slug, _zone, _cluster in TZ_CASES:
        add("gen-tz/field/%s/raw" % tz_slug,
            tz_select("v, n", tz_slug, "1h", grouped=False, group_by_site=False))
        add("gen-tz/integral/%s/1h" % tz_slug,
            tz_select("integral(v)", tz_slug, "1h", group_by_site=False))
        for fill_slug, fill in FILLS:
            add("gen-tz/fill-%s/%s/1h" % (fill_slug, tz_slug),
                tz_select("mean(v), count(n)", tz_slug, "1h", tail=fill))
        add("gen-tz/desc/%s/1d" % tz_slug,
            tz_select("max(v)", tz_slug, "1d", tail="ORDER BY time DESC"))
        add("gen-tz/offset-interval/%s/1d" % tz_slug,
            tz_select("count(v)", tz_slug, "1d, 6h", group_by_site=False))
        add("gen-tz/interval-30m/%s" % tz_slug,
            tz_select("count(v)", tz_slug, "30m", group_by_site=False))
        add("gen-tz/interval-7d/%s" % tz_slug,
            tz_select("sum(n)", tz_slug, "7d", group_by_site=False))
    # The zone argument itself ('Local' is left out: its answer is the recording machine's
    # zone).
    for slug, zone in [("utc", "UTC"), ("lowercase", "europe/paris"), ("empty", ""),
                       ("etc-offset", "Etc/GMT+5"),
                       ("unknown", "Nowhere/Never")]:
        add("gen-tz/zone-%s" % slug,
            "SELECT max(v) FROM dst WHERE %s GROUP BY time(1d) tz('%s')"
            % (cluster_window("ny-fall", "1d"), zone))


def gen_extremes():
    """gen-extreme: every function, and overflowing arithmetic, of `x`'s extreme values."""
    functions = [fn for fn in FUNCTIONS if fn.kind != "holt"]
    for fn in functions:
        for field_type, field in (("integer", "v"), ("float", "w")):
            expr = fn.call("float", "raw", field=field)
            add("gen-extreme/%s/%s" % (fn.slug, field_type), "SELECT %s FROM x" % expr)
    for field_type, field in (("integer", "v"), ("float", "w")):
        for slug, expr in [("by-tag-sum", "sum(%s)" % field), ("by-tag-mean", "mean(%s)" % field),
                           ("by-tag-spread", "spread(%s)" % field),
                           ("negate", "-%s" % field), ("plus-one", "%s + 1" % field),
                           ("times-two", "%s * 2" % field), ("minus-one", "%s - 1" % field),
                           ("div-minus-one", "%s / -1" % field),
                           ("mod-minus-one", "%s %% -1" % field)]:
            group = " GROUP BY k" if slug.startswith("by-tag") else ""
            add("gen-extreme/%s/%s" % (slug, field_type), "SELECT %s FROM x%s" % (expr, group))
        add("gen-extreme/holt-winters/%s" % field_type,
            "SELECT holt_winters(max(%s), 2, 0) FROM x WHERE time >= '%s' AND time < '%s' "
            "GROUP BY time(10s)" % (field, rfc(BASE_S), rfc(BASE_S + 50)))


def gen_wildcards():
    """gen-wild: every function of `*`, of a regex and of a tag."""
    for fn in FUNCTIONS:
        if fn.kind == "holt":
            continue
        for slug, arg in (("star", "*"), ("regex", "/^[fi]$/"), ("tag", "host")):
            expr = "%s(%s%s)" % (fn.name, arg, fn.extra)
            add("gen-wild/%s/%s" % (fn.slug, slug), "SELECT %s FROM g WHERE host = 'a'" % expr)
        if fn.kind in ("aggregate", "selector"):
            add("gen-wild/%s/star/by-time-tag" % fn.slug,
                select_statement("%s(*%s)" % (fn.name, fn.extra), "by-time-tag",
                                 where=single_series_filter(fn, "by-time-tag")))


OPERATORS = [("plus", "+"), ("minus", "-"), ("times", "*"), ("div", "/"), ("mod", "%"),
             ("and", "&"), ("or", "|"), ("xor", "^")]
OPERAND_PAIRS = [
    ("float-int", "f", "i"), ("int-float", "i", "f"), ("float-float", "f", "f"),
    ("int-int", "i", "i"), ("int-literal-int", "i", "2"), ("int-literal-float", "i", "2.5"),
    ("literal-int-int", "3", "i"), ("float-literal-zero", "f", "0"),
    ("int-literal-zero", "i", "0"), ("int-literal-negative", "i", "-3"),
    ("float-string", "f", "s"), ("string-string", "s", "s"), ("bool-bool", "b", "b"),
    ("int-bool", "i", "b"), ("float-tag", "f", "host"), ("float-missing", "f", "nope"),
]


def gen_math():
    """gen-math: operators x operand types, between aggregates, precedence, in WHERE."""
    for op_slug, op in OPERATORS:
        for pair_slug, left, right in OPERAND_PAIRS:
            add("gen-math/%s/%s" % (op_slug, pair_slug),
                "SELECT %s %s %s FROM g WHERE host = 'b'" % (left, op, right))
        for slug, left, right in [("mean-sum", "mean(f)", "sum(i)"),
                                  ("max-min-int", "max(i)", "min(i)"),
                                  ("count-literal", "count(f)", "2")]:
            add("gen-math/%s/aggregates-%s" % (op_slug, slug),
                select_statement("%s %s %s" % (left, op, right), "by-time-tag"))
    for slug, expr in [
            ("negate-float", "-f"), ("negate-int", "-i"), ("negate-parens", "-(f + i)"),
            ("times-negative-one", "f * -1"), ("precedence-mul", "f + i * 2"),
            ("precedence-parens", "(f + i) * 2"), ("left-assoc-minus", "f - i - 2"),
            ("left-assoc-div", "f / i / 2"), ("mod-then-mul", "i % 3 * 2"),
            ("bitwise-precedence", "i & 3 | 4"), ("literal-only-arith", "1 + 2"),
            ("alias", "f * 2 AS double"), ("two-expressions", "f + 1, i - 1"),
            ("function-of-expression", "abs(f - 20)"), ("expression-of-functions",
                                                      "abs(f) + sqrt(i)"),
            ("field-with-itself", "f / f")]:
        add("gen-math/expr/%s" % slug, "SELECT %s FROM g WHERE host = 'b'" % expr)
    for slug, cond in [("float-product", "f * 2 > 30"), ("int-mod", "i % 2 = 0"),
                       ("sum-of-fields", "f + i > 20"), ("bitwise-and", "i & 1 = 1"),
                       ("divided", "f / 2 < 7"), ("negated-field", "-i > 0")]:
        add("gen-math/where/%s" % slug, "SELECT f, i FROM g WHERE %s" % cond)


SUBQUERY_INNERS = [
    ("raw", "SELECT f FROM g"),
    ("raw-by-tag", "SELECT f FROM g GROUP BY host"),
    ("agg-by-tag", "SELECT max(f) AS f FROM g GROUP BY host"),
    ("agg-by-time", "SELECT mean(f) AS f FROM g WHERE %s GROUP BY time(%s)" % (WINDOW,
                                                                              INTERVAL)),
    ("agg-by-time-tag", "SELECT mean(f) AS f FROM g WHERE %s GROUP BY time(%s), host"
     % (WINDOW, INTERVAL)),
    ("math", "SELECT f * 2 AS f FROM g GROUP BY host"),
    ("transform", "SELECT difference(f) AS f FROM g GROUP BY host"),
    ("fill-linear", "SELECT mean(f) AS f FROM g WHERE %s GROUP BY time(%s), host fill(linear)"
     % (WINDOW, INTERVAL)),
]
SUBQUERY_FUNCTIONS = [fn for fn in FUNCTIONS if fn.kind in ("aggregate", "selector",
                                                            "transform")] + \
    [FN["abs"], FN["exponential_moving_average"], FN["relative_strength_index"],
     FN["holt_winters"]]


def gen_subqueries():
    """gen-subquery: outer function x inner query x outer shape, and other nestings."""
    outer_by_name = [("field", "f"), ("star", "*")] + \
        [(fn.slug, fn) for fn in SUBQUERY_FUNCTIONS]
    for slug, item in outer_by_name:
        for inner_slug, inner in SUBQUERY_INNERS:
            shapes = ["raw"] if item != FN["holt_winters"] else ["by-time"]
            if inner_slug == "agg-by-time-tag":
                shapes = ["raw", "by-tag", "by-time", "by-time-tag"]
                if item == FN["holt_winters"]:
                    shapes = ["by-time", "by-time-tag"]
            for shape in shapes:
                expr = item if isinstance(item, str) else item.call("float", shape)
                where = single_series_filter(item, shape) if not isinstance(item, str) else None
                add("gen-subquery/%s/%s/%s" % (slug, inner_slug, shape),
                    select_statement(expr, shape, source="(%s)" % inner, where=where))
    # Conditions on the outer query, and nesting.
    for slug, text in [
            ("where-field", "SELECT f FROM (SELECT f, i FROM g) WHERE i > 3"),
            ("where-tag", "SELECT f FROM (SELECT f FROM g GROUP BY host) WHERE host = 'b'"),
            ("where-tag-not-grouped", "SELECT f FROM (SELECT f FROM g) WHERE host = 'b'"),
            ("where-time", "SELECT f FROM (SELECT f FROM g GROUP BY host) WHERE time >= '%s'"
             % rfc(BASE_S + 90)),
            ("three-levels", "SELECT max(m) FROM (SELECT mean(f) AS m FROM (SELECT f FROM g "
             "GROUP BY host) GROUP BY host)"),
            ("two-fields-two-functions", "SELECT mean(a), max(b) FROM (SELECT f AS a, i AS b "
             "FROM g)"),
            ("math-outer", "SELECT a * 2 + b FROM (SELECT f AS a, i AS b FROM g "
             "WHERE host = 'a')"),
            ("math-of-aggregates-outer", "SELECT max(a) - min(b) FROM (SELECT f AS a, i AS b "
             "FROM g) GROUP BY host"),
            ("string-field", "SELECT count(s), first(s) FROM (SELECT s FROM g GROUP BY host)"),
            ("bool-field", "SELECT count(b), last(b) FROM (SELECT b FROM g GROUP BY host)"),
            ("tag-selected-inner", "SELECT host, f FROM (SELECT f, host FROM g)"),
            ("order-desc-limit", "SELECT f FROM (SELECT f FROM g GROUP BY host) "
             "ORDER BY time DESC LIMIT 3"),
            ("inner-order-desc", "SELECT f FROM (SELECT f FROM g WHERE host = 'a' "
             "ORDER BY time DESC LIMIT 3)"),
            ("slimit-outer", "SELECT max(f) FROM (SELECT f FROM g GROUP BY host) GROUP BY host "
             "SLIMIT 1 SOFFSET 1"),
            ("inner-slimit", "SELECT max(f) FROM (SELECT f FROM g GROUP BY host SLIMIT 2)"),
            ("inner-offset", "SELECT count(f) FROM (SELECT f FROM g GROUP BY host OFFSET 3) "
             "GROUP BY host"),
            ("missing-field", "SELECT nope FROM (SELECT f FROM g)"),
            ("inner-error", "SELECT max(f) FROM (SELECT mean(s) AS f FROM g)"),
            ("two-subqueries", "SELECT max(f) FROM (SELECT f FROM g WHERE host = 'a'), "
             "(SELECT f FROM g WHERE host = 'b')"),
            ("subquery-and-measurement", "SELECT max(f) FROM g, (SELECT f FROM g)"),
            ("tz-outer", "SELECT max(f) FROM (SELECT f FROM g) WHERE %s GROUP BY time(%s) "
             "tz('America/New_York')" % (WINDOW, INTERVAL)),
            ("fill-outer", "SELECT count(f) FROM (SELECT f FROM g WHERE host = 'c') WHERE %s "
             "GROUP BY time(%s) fill(previous)" % (WINDOW, INTERVAL)),
            ("distinct-inner-count-outer", "SELECT count(d) FROM (SELECT distinct(s) AS d "
             "FROM g GROUP BY host) GROUP BY host"),
            ("top-inner", "SELECT sum(top) FROM (SELECT top(f, 3) FROM g GROUP BY host)"),
            ("top-tag-inner", "SELECT * FROM (SELECT top(f, host, 2) FROM g)"),
    ]:
        add("gen-subquery/misc/%s" % slug, text)


# Combinations of an inner query, an outer query and the outer clauses, drawn from a fixed
# seed: the pairwise families above miss how the clauses interact (an outer GROUP BY that
# reaches the inner, an outer window over an inner aggregate without one, DESC, SLIMIT).
COMBO_INNERS = [
    "SELECT f AS v FROM g",
    "SELECT f AS v, host FROM g",
    "SELECT max(f) AS v FROM g",
    "SELECT max(f) AS v FROM g GROUP BY host",
    "SELECT mean(f) AS v FROM g WHERE %s GROUP BY time(10s)" % WINDOW,
    "SELECT count(f) AS v FROM g GROUP BY region",
    "SELECT top(f, 2) AS v FROM g",
    "SELECT last(f) AS v FROM g GROUP BY host",
    "SELECT f AS v FROM g LIMIT 2",
    "SELECT difference(f) AS v FROM g",
    "SELECT i AS v FROM g WHERE host = 'a' OR host = 'c'",
    "SELECT sum(i) AS v FROM g GROUP BY host",
]
COMBO_OUTER_FIELDS = ["*", "v", "max(v)", "count(v)", "mean(v)", "sum(v)", "first(v)",
                      "v * 2", "spread(v)", "last(v), min(v)", "median(v)"]
COMBO_COUNT = 200
COMBO_SEED = 20261207


def gen_subquery_combinations():
    """gen-subquery-combo/NNN: seeded random combinations (see COMBO_INNERS)."""
    import random
    chooser = random.Random(COMBO_SEED)
    for number in range(COMBO_COUNT):
        field = chooser.choice(COMBO_OUTER_FIELDS)
        aggregate = "(" in field
        groups = ["", " GROUP BY host", " GROUP BY region"]
        if aggregate:
            groups += [" GROUP BY time(%s)" % INTERVAL, " GROUP BY time(%s), host" % INTERVAL]
        group = chooser.choice(groups)
        where = chooser.choice(["", " WHERE " + WINDOW, " WHERE host = 'a'", " WHERE v > 10"])
        if "time(" in group and WINDOW not in where:
            where = " WHERE " + WINDOW + (" AND v > 10" if chooser.random() < 0.3 else "")
        statement = "SELECT %s FROM (%s)%s%s%s%s" % (
            field, chooser.choice(COMBO_INNERS), where, group,
            chooser.choice(["", "", " ORDER BY time DESC"]),
            chooser.choice(["", "", "", " LIMIT 1", " SLIMIT 1", " OFFSET 1"]))
        add("gen-subquery-combo/%03d" % number, statement)


# ---------------------------------------------------------------------------
# SHOW statements: clause options combined all-pairs
# ---------------------------------------------------------------------------


def all_pairs(factors):
    """A deterministic all-pairs covering of the factors' options: every option of any two
    factors appears together in at least one row. Greedy over the full product, first row
    of the product wins ties; the product is small here (a few hundred rows)."""
    product = list(itertools.product(*[range(len(f)) for f in factors]))
    uncovered = set()
    for (a, fa), (b, fb) in itertools.combinations(enumerate(factors), 2):
        for x in range(len(fa)):
            for y in range(len(fb)):
                uncovered.add((a, x, b, y))
    rows = []
    while uncovered:
        best, best_gain = None, -1
        for row in product:
            gain = sum(1 for (a, b) in itertools.combinations(range(len(factors)), 2)
                       if (a, row[a], b, row[b]) in uncovered)
            if gain > best_gain:
                best, best_gain = row, gain
        rows.append(best)
        for (a, b) in itertools.combinations(range(len(factors)), 2):
            uncovered.discard((a, best[a], b, best[b]))
    return [tuple(factors[k][i] for k, i in enumerate(row)) for row in rows]


# Each option: (slug, text). "" text means the clause is absent.
ON_OPTIONS = [("db-param", ""), ("on-db", "ON qg_gen"), ("on-db2", "ON qg_gen2"),
              ("on-missing", "ON nope"), ("no-db", None)]
FROM_OPTIONS = [("all", ""), ("from-g", "FROM g"), ("from-regex", "FROM /^(g|x)$/"),
                ("from-db-rp", "FROM qg_gen.rp1.g"), ("from-missing", "FROM nope"),
                ("from-two", "FROM dst, x")]
WHERE_OPTIONS = [("all", ""), ("where-eq", "WHERE host = 'a'"),
                 ("where-regex", "WHERE host =~ /^[bc]$/"), ("where-neq", "WHERE host != 'a'"),
                 ("where-empty-tag", "WHERE region = ''"),
                 ("where-or", "WHERE host = 'c' OR site = 'y'"),
                 ("where-time", "WHERE time > '%s'" % rfc(BASE_S + 60)),
                 ("where-field", "WHERE f > 1")]
LIMIT_OPTIONS = [("all", ""), ("limit", "LIMIT 1"), ("offset", "OFFSET 1"),
                 ("limit-offset", "LIMIT 2 OFFSET 1")]
SLIMIT_OPTIONS = LIMIT_OPTIONS + [("slimit", "SLIMIT 1"), ("soffset", "SOFFSET 1")]
WITH_MEASUREMENT_OPTIONS = [("all", ""), ("with-eq", "WITH MEASUREMENT = g"),
                            ("with-regex", "WITH MEASUREMENT =~ /^(d|x)/"),
                            ("with-regex-none", "WITH MEASUREMENT =~ /^nope/")]
WITH_KEY_OPTIONS = [("key-eq", "WITH KEY = host"), ("key-neq", "WITH KEY != host"),
                    ("key-regex", "WITH KEY =~ /^(host|site)$/"),
                    ("key-not-regex", "WITH KEY !~ /host/"),
                    ("key-in", "WITH KEY IN (host, region)"),
                    ("key-missing", "WITH KEY = nope")]
EXACT_OPTIONS = [("estimated", ""), ("exact", "EXACT")]
# The cardinality statements share the clauses' code with the listing statements: fewer
# options each.
CARD_ON_OPTIONS = [ON_OPTIONS[0], ON_OPTIONS[2], ON_OPTIONS[3], ON_OPTIONS[4]]
CARD_FROM_OPTIONS = FROM_OPTIONS[:3] + [FROM_OPTIONS[4]]
CARD_WHERE_OPTIONS = WHERE_OPTIONS[:3] + [WHERE_OPTIONS[6]]
CARD_KEY_OPTIONS = [WITH_KEY_OPTIONS[0], WITH_KEY_OPTIONS[2], WITH_KEY_OPTIONS[4]]

# (slug, statement head, [(factor slug, options)]); factors appear in clause order.
SHOW_MATRICES = [
    ("measurements", "SHOW MEASUREMENTS", [("on", ON_OPTIONS), ("with", WITH_MEASUREMENT_OPTIONS),
                                           ("where", WHERE_OPTIONS), ("limit", LIMIT_OPTIONS)]),
    ("series", "SHOW SERIES", [("on", ON_OPTIONS), ("from", FROM_OPTIONS),
                               ("where", WHERE_OPTIONS), ("limit", LIMIT_OPTIONS)]),
    ("tag-keys", "SHOW TAG KEYS", [("on", ON_OPTIONS), ("from", FROM_OPTIONS),
                                   ("where", WHERE_OPTIONS), ("limit", SLIMIT_OPTIONS)]),
    ("tag-values", "SHOW TAG VALUES", [("on", ON_OPTIONS), ("from", FROM_OPTIONS),
                                       ("key", WITH_KEY_OPTIONS), ("where", WHERE_OPTIONS),
                                       ("limit", LIMIT_OPTIONS)]),
    ("field-keys", "SHOW FIELD KEYS", [("on", ON_OPTIONS), ("from", FROM_OPTIONS),
                                       ("limit", LIMIT_OPTIONS)]),
    ("series-cardinality", "SHOW SERIES {exact} CARDINALITY",
     [("exact", EXACT_OPTIONS), ("on", CARD_ON_OPTIONS), ("from", CARD_FROM_OPTIONS),
      ("where", CARD_WHERE_OPTIONS)]),
    ("measurement-cardinality", "SHOW MEASUREMENT {exact} CARDINALITY",
     [("exact", EXACT_OPTIONS), ("on", CARD_ON_OPTIONS), ("from", CARD_FROM_OPTIONS),
      ("where", CARD_WHERE_OPTIONS)]),
    ("tag-key-cardinality", "SHOW TAG KEY {exact} CARDINALITY",
     [("exact", EXACT_OPTIONS), ("on", CARD_ON_OPTIONS), ("from", CARD_FROM_OPTIONS),
      ("where", CARD_WHERE_OPTIONS)]),
    ("tag-values-cardinality", "SHOW TAG VALUES {exact} CARDINALITY",
     [("exact", EXACT_OPTIONS), ("on", CARD_ON_OPTIONS), ("from", CARD_FROM_OPTIONS),
      ("key", CARD_KEY_OPTIONS), ("where", CARD_WHERE_OPTIONS)]),
    ("field-key-cardinality", "SHOW FIELD KEY {exact} CARDINALITY",
     [("exact", EXACT_OPTIONS), ("on", CARD_ON_OPTIONS), ("from", CARD_FROM_OPTIONS)]),
]


def show_statement(head, factor_names, row):
    """The statement text and its db parameter for one row of options."""
    db = ""
    parts = []
    exact = ""
    for name, (_slug, text) in zip(factor_names, row):
        if name == "exact":
            exact = text
        elif name == "on":
            if text is None:
                db = None
            elif text:
                parts.append(text)
        elif text:
            parts.append(text)
    statement = re.sub(" +", " ", head.format(exact=exact))
    return " ".join([statement] + parts), db


def gen_show():
    """gen-show: every SHOW statement with its clause options combined all-pairs."""
    for slug, head, factors in SHOW_MATRICES:
        names = [name for name, _options in factors]
        rows = all_pairs([options for _name, options in factors])
        # Every option of a listing statement also once alone (every other factor at its
        # first option), so a failure can be told from the interplay of clauses.
        for k, (_name, options) in enumerate(factors if "cardinality" not in slug else []):
            for option in options[1:]:
                row = tuple(option if j == k else factors[j][1][0] for j in range(len(factors)))
                if row not in rows:
                    rows.append(row)
        for row in rows:
            statement, db = show_statement(head, names, row)
            case_slug = "/".join(option_slug for option_slug, _text in row)
            add("gen-show/%s/%s" % (slug, case_slug), statement, db=db)
    for slug, statement, db in [
            ("databases", "SHOW DATABASES", ""),
            ("databases-no-db", "SHOW DATABASES", None),
            ("retention-policies", "SHOW RETENTION POLICIES", ""),
            ("retention-policies-on", "SHOW RETENTION POLICIES ON qg_gen", None),
            ("retention-policies-on-db2", "SHOW RETENTION POLICIES ON qg_gen2", ""),
            ("retention-policies-on-missing", "SHOW RETENTION POLICIES ON nope", ""),
            ("retention-policies-no-db", "SHOW RETENTION POLICIES", None),
            ("continuous-queries", "SHOW CONTINUOUS QUERIES", ""),
            ("users", "SHOW USERS", ""),
            ("subscriptions", "SHOW SUBSCRIPTIONS", ""),
            ("grants-missing-user", "SHOW GRANTS FOR nobody", ""),
            ("stats-for-missing-module", "SHOW STATS FOR 'nope'", ""),
            ("diagnostics-for-missing-module", "SHOW DIAGNOSTICS FOR 'nope'", ""),
            ("measurements-with-neq", "SHOW MEASUREMENTS WITH MEASUREMENT != g", ""),
            ("measurements-order-by", "SHOW MEASUREMENTS ORDER BY name", ""),
            ("series-slimit", "SHOW SERIES SLIMIT 1", ""),
            ("series-order-by-time-desc", "SHOW SERIES ORDER BY time DESC", ""),
            ("tag-values-no-with", "SHOW TAG VALUES FROM g", ""),
            ("tag-values-key-regex-all", "SHOW TAG VALUES WITH KEY =~ /.*/", ""),
            ("tag-values-key-quoted", "SHOW TAG VALUES WITH KEY = \"host\"", ""),
            ("tag-values-key-string", "SHOW TAG VALUES WITH KEY = 'host'", ""),
            ("tag-values-where-value-regex", "SHOW TAG VALUES WITH KEY = host WHERE "
             "host =~ /a|b/", ""),
            ("tag-values-where-other-key", "SHOW TAG VALUES WITH KEY = region WHERE "
             "host = 'b'", ""),
            ("series-cardinality-group-by", "SHOW SERIES CARDINALITY GROUP BY host", ""),
            ("series-cardinality-limit", "SHOW SERIES CARDINALITY LIMIT 1", ""),
            ("series-exact-cardinality-group-by", "SHOW SERIES EXACT CARDINALITY "
             "GROUP BY host", ""),
            ("measurement-exact-cardinality-with", "SHOW MEASUREMENT EXACT CARDINALITY "
             "WITH MEASUREMENT =~ /^d/", ""),
            ("tag-values-exact-cardinality-limit", "SHOW TAG VALUES EXACT CARDINALITY "
             "WITH KEY = host LIMIT 1", ""),
            ("field-keys-where", "SHOW FIELD KEYS WHERE host = 'a'", ""),
            ("field-keys-from-star", "SHOW FIELD KEYS FROM *", ""),
            ("measurements-two-statements", "SHOW MEASUREMENTS; SHOW MEASUREMENTS ON qg_gen2",
             ""),
            ("series-where-measurement", "SHOW SERIES WHERE _name = 'x'", ""),
            ("series-where-tagkey", "SHOW SERIES WHERE _tagKey = 'site'", ""),
    ]:
        add("gen-show/misc/%s" % slug, statement, db=db)


# ---------------------------------------------------------------------------
# errors and parse errors
# ---------------------------------------------------------------------------


def gen_errors():
    """gen-error: wrong argument counts and kinds for every function; unknown functions."""
    for fn in FUNCTIONS:
        add("gen-error/%s/no-args" % fn.slug, "SELECT %s() FROM g" % fn.name)
        add("gen-error/%s/five-args" % fn.slug, "SELECT %s(f, 1, 2, 3, 4) FROM g" % fn.name)
        add("gen-error/%s/literal-arg" % fn.slug,
            "SELECT %s(1%s) FROM g" % (fn.name, fn.extra))
        if fn.min_args >= 2 or fn.variants:
            add("gen-error/%s/string-param" % fn.slug,
                select_statement("%s(f, 'x')" % fn.name, "raw"))
            add("gen-error/%s/negative-param" % fn.slug,
                select_statement("%s(f, -1)" % fn.name, "raw"))
        if fn.min_args >= 2:
            add("gen-error/%s/one-arg" % fn.slug, select_statement("%s(f)" % fn.name, "raw"))
        add("gen-error/%s/nested-aggregate" % fn.slug,
            select_statement("%s(count(mean(f))%s)" % (fn.name, fn.extra), "by-time"))
        # Function names are case-insensitive.
        add("gen-error/%s/uppercase-name" % fn.slug,
            select_statement(fn.call("float", "by-time").replace(fn.name, fn.name.upper(), 1),
                             "by-time"))
    for slug, name in [("unknown", "frobnicate"), ("avg", "avg"), ("stdev", "stdev"),
                       ("percentile-typo", "percentil"), ("now", "now"), ("time", "time"),
                       ("sum-suffixed", "sum2"), ("underscore", "_mean")]:
        add("gen-error/unknown-function/%s" % slug, "SELECT %s(f) FROM g" % name)
        add("gen-error/unknown-function/%s-by-time" % slug,
            select_statement("%s(f)" % name, "by-time"))


PARSE_BASES = [
    ("select", "SELECT mean(f) AS m, max(i) FROM qg_gen.autogen.g WHERE host =~ /^[ab]$/ "
     "AND time >= '2026-11-01T00:00:00Z' AND time < '2026-11-01T00:01:00Z' + 10s "
     "GROUP BY time(20s, 5s), host fill(linear) ORDER BY time DESC LIMIT 2 OFFSET 1 "
     "SLIMIT 1 SOFFSET 1 tz('Europe/Paris')"),
    ("show-tag-values", "SHOW TAG VALUES ON qg_gen FROM g WITH KEY IN (host, region) "
     "WHERE host != 'c' LIMIT 1 OFFSET 1"),
    ("subquery", "SELECT top(m, 2), host FROM (SELECT last(f) AS m FROM g GROUP BY host) "
     "WHERE m > -5.5 AND (host = 'a' OR \"host\" = 'b')"),
]
TOKEN = re.compile(r"""\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|/(?:[^/\\]|\\.)*/(?=[\s),])|"""
                   r"""[A-Za-z_][A-Za-z0-9_]*|-?[0-9]+(?:\.[0-9]+)?[a-z]*|<=|>=|!=|=~|!~|"""
                   r"""[(),.;=<>+*/%-])""")


def tokens_end(statement):
    """The end offset of every token of a statement."""
    ends, pos = [], 0
    while pos < len(statement):
        match = TOKEN.match(statement, pos)
        if not match:
            raise ValueError("cannot tokenize at %r" % statement[pos:])
        pos = match.end()
        ends.append(pos)
    return ends


def gen_parse():
    """gen-parse: every token prefix of PARSE_BASES, and other malformed statements."""
    for slug, statement in PARSE_BASES:
        ends = tokens_end(statement)
        # Every prefix that stops after a token, shortest first (the whole statement too).
        for count, end in enumerate(ends, start=1):
            add("gen-parse/%s/prefix-%02d" % (slug, count), statement[:end])
    for slug, text in [
            ("float-exponent-missing", "SELECT f FROM g WHERE f = 1e"),
            ("duration-overflow", "SELECT mean(f) FROM g WHERE %s GROUP BY "
             "time(99999999999999999999s)" % WINDOW),
            ("limit-overflow", "SELECT f FROM g LIMIT 99999999999999999999"),
            ("integer-overflow", "SELECT f FROM g WHERE i > 9223372036854775808"),
            ("integer-max", "SELECT f FROM g WHERE i < 9223372036854775807"),
            ("unterminated-identifier", "SELECT \"f FROM g"),
            ("unterminated-regex", "SELECT f FROM g WHERE host =~ /a"),
            ("bad-duration-unit", "SELECT f FROM g WHERE time > now() - 1x"),
            ("duration-zero-interval", "SELECT mean(f) FROM g WHERE %s GROUP BY time(0s)"
             % WINDOW),
            ("duration-negative-interval", "SELECT mean(f) FROM g WHERE %s GROUP BY "
             "time(-10s)" % WINDOW),
            ("offset-larger-than-interval", "SELECT mean(f) FROM g WHERE %s GROUP BY "
             "time(20s, 30s)" % WINDOW),
            ("double-where", "SELECT f FROM g WHERE host = 'a' WHERE host = 'b'"),
            ("group-by-after-limit", "SELECT f FROM g LIMIT 1 GROUP BY host"),
            ("fill-before-group-by", "SELECT mean(f) FROM g fill(0) GROUP BY time(20s)"),
            ("fill-two-args", "SELECT mean(f) FROM g WHERE %s GROUP BY time(20s) fill(0, 1)"
             % WINDOW),
            ("fill-string", "SELECT mean(f) FROM g WHERE %s GROUP BY time(20s) fill('x')"
             % WINDOW),
            ("order-by-time-twice", "SELECT f FROM g ORDER BY time DESC, time ASC"),
            ("order-by-tag", "SELECT f FROM g ORDER BY host"),
            ("order-by-time-asc-desc", "SELECT f FROM g ORDER BY time ASC DESC"),
            ("slimit-negative", "SELECT f FROM g GROUP BY host SLIMIT -1"),
            ("offset-negative", "SELECT f FROM g OFFSET -1"),
            ("tz-two-args", "SELECT f FROM g tz('UTC', 'UTC')"),
            ("tz-no-args", "SELECT f FROM g tz()"),
            ("tz-before-limit", "SELECT f FROM g tz('UTC') LIMIT 1"),
            ("keyword-as-field", "SELECT from FROM g"),
            ("keyword-quoted-field", "SELECT \"from\" FROM g"),
            ("star-star", "SELECT ** FROM g"),
            ("trailing-comma", "SELECT f, FROM g"),
            ("empty-parens", "SELECT () FROM g"),
            ("regex-field-bad", "SELECT /(/ FROM g"),
            ("cast-unknown", "SELECT f::bogus FROM g"),
            ("cast-tag-field", "SELECT host::field FROM g"),
            ("bound-param-unknown", "SELECT f FROM g WHERE host = $nope"),
            ("semicolon-only-two", ";;"),
            ("comment-line", "SELECT f FROM g -- comment\nWHERE host = 'c'"),
            ("comment-block", "SELECT f /* block */ FROM g WHERE host = 'c'"),
            ("string-escape-quote", "SELECT f FROM g WHERE host = 'a\\'b'"),
            ("identifier-escape", "SELECT \"f\\\"x\" FROM g"),
            ("unicode-identifier", "SELECT f FROM \"g\u00e9\""),
            ("newlines-and-tabs", "SELECT\tf\nFROM\r\ng\nWHERE host='c'"),
            ("lowercase-keywords", "select f from g where host = 'c' order by time desc "
             "limit 1"),
            ("mixed-case-keywords", "SeLeCt F FrOm G"),
    ]:
        add("gen-parse/misc/%s" % slug, text)


def generate():
    """All the cases, in a fixed order, and the dataset."""
    del CASES[:]
    NAMES.clear()
    gen_functions()
    gen_fill()
    gen_order()
    gen_tz()
    gen_extremes()
    gen_wildcards()
    gen_math()
    gen_subqueries()
    gen_subquery_combinations()
    gen_show()
    gen_errors()
    gen_parse()
    return {"datasets": {DATASET: dataset()}, "cases": list(CASES)}


def render(corpus):
    """The JSON text: datasets first, then one case per line (small diffs on regeneration)."""
    out = ["{", ' "datasets": %s,' % json.dumps(corpus["datasets"], ensure_ascii=False,
                                                   sort_keys=True),
           ' "cases": [']
    cases = corpus["cases"]
    for k, entry in enumerate(cases):
        out.append("  %s%s" % (json.dumps(entry, ensure_ascii=False, sort_keys=True),
                               "," if k + 1 < len(cases) else ""))
    out.append(" ]")
    out.append("}")
    return "\n".join(out) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT_PATH)
    parser.add_argument("--check", action="store_true",
                        help="fail if the file on disk differs from what would be generated")
    args = parser.parse_args()
    text = render(generate())
    if args.check:
        with open(args.out, encoding="utf-8") as existing:
            if existing.read() != text:
                print("%s is stale: run %s" % (args.out, sys.argv[0]), file=sys.stderr)
                sys.exit(1)
        print("%s is up to date (%d cases)" % (args.out, len(CASES)))
        return
    with open(args.out, "w", encoding="utf-8") as out:
        out.write(text)
    groups = {}
    for entry in CASES:
        group = entry["name"].split("/")[0]
        groups[group] = groups.get(group, 0) + 1
    print("wrote %d cases to %s (%s)" % (len(CASES), args.out,
                                         ", ".join("%s %d" % g for g in sorted(groups.items()))))


if __name__ == "__main__":
    main()
