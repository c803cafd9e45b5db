"""Golden series-limit cases, replayed against InfluxDB 1.6.7 with `[data]
max-series-per-database = 3` and `max-values-per-tag = 2` by

    python3 tools/record_golden.py --config tools/influxdb-golden-limits.conf \
        --cases tests/golden/limits/cases.py --out tests/golden/limits/limits.jsonl --port 18886

Every case writes to a fresh database (setup: create it, then the `pre` writes); `stored` is
what the database holds afterwards. What 1.6.7 shows (inmem index):
- the series count is the database's; the points of new series left after the tag check are
  counted one per point (a new series written twice counts twice); if count + those points
  pass the limit, all of them are dropped, and the existing series' points are kept;
- a new series' tag value new to its tag key is refused once the key has `max-values-per-tag`
  values; values new in the same write do not count (one write may pass the limit);
- a limit's reason is the one reported (the series limit's over the tag limit's, both over a
  `time` tag's, a field type conflict's or only-`time`-fields'); every drop is counted.
Not recorded: a field type conflict on an existing series placed before a limit-dropped point
in the same write (1.6.7 then skips that point silently and leaves it out of `dropped`; see
tests/golden_limits.rs).
"""


TEXT = [["Content-Type", "text/plain; charset=utf-8"]]
CASES = []


def write(slug, body, pre=(), params=""):
    name = "limits/" + slug
    db = "l_" + "".join(ch if ch.isalnum() else "_" for ch in slug)
    setup = [["POST", "/query", "q=CREATE DATABASE " + db]]
    setup += [["POST", "/write?db=" + db, w] for w in pre]
    request = {"method": "POST", "target": "/write?db=" + db + params, "headers": TEXT,
               "body": body}
    CASES.append({"name": name, "group": "limits", "setup": setup, "request": request,
                  "db": db, "teardown": [["POST", "/query", "q=DROP DATABASE " + db]]})


THREE = "a v=1 1\nb v=1 1\nc v=1 1\n"

# --- max-series-per-database = 3 -----------------------------------------------------------
write("series-at-limit", THREE)
write("series-past-limit-in-one-write", "m,h=1 v=1 1\nm,h=2 v=1 1\nn v=1 1\nm,h=1 v=2 2\n")
write("series-one-past", "d v=1 1\n", pre=[THREE])
write("series-existing-kept", "a v=2 2\nd v=1 1\nb v=2 2\n", pre=[THREE])
write("series-existing-only", "a v=2 2\nb v=2 2\nc v=2 2\n", pre=[THREE])
write("series-duplicate-points-count", "x v=1 1\nx v=2 2\ny v=1 1\n", pre=["o v=1 1\n"])
write("series-distinct-fit", "x v=1 1\ny v=1 1\n", pre=["o v=1 1\n"])
write("series-new-shard-existing-series", "a v=3 1600000000000000000\nd v=1 1\n", pre=[THREE])
write("series-and-parse-error", "d v=1 1\nbad line here\n", pre=[THREE])
write("series-and-time-tag", "d v=1 1\nz,time=1 v=1 1\n", pre=[THREE])
write("series-after-time-tag", "z,time=1 v=1 1\nd v=1 1\n", pre=[THREE])
write("series-and-field-conflict-after", "d v=1 1\na v=\"s\" 2\n", pre=[THREE])
write("series-and-only-time-fields", "d v=1 1\na time=1 2\n", pre=[THREE])
write("series-and-new-field", "d v=1,w=2 1\na v=2 2\n", pre=[THREE])

# --- max-values-per-tag = 2 ----------------------------------------------------------------
write("values-past-limit-in-one-write", "t,h=1 v=1 1\nt,h=2 v=1 1\nt,h=3 v=1 1\n")
write("values-one-past", "t,h=3 v=1 1\n", pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-over-after-overshoot", "t,h=9 v=1 1\nt,h=1 v=2 2\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\nt,h=3 v=1 1\n"])
write("values-existing-value-new-series", "t,h=1,g=5 v=1 1\nt,h=1 v=1 3\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-several-dropped", "t,h=3 v=1 1\nt,h=4 v=1 1\nt,h=1,g=5 v=1 1\nt,h=1 v=1 3\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-first-tag-in-key-order", "t,b=3,a=3 v=1 1\nt,a=1,b=4 v=1 1\n",
      pre=["t,a=1,b=1 v=1 1\nt,a=2,b=2 v=1 1\n"])
write("values-other-measurement", "u,h=3 v=1 1\n", pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-and-series", "t,h=3 v=1 1\nx v=1 1\ny v=1 1\nt,h=1 v=1 2\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-after-field-conflict-on-new", "t,h=3 v=1 1\nt,h=1 v=\"s\" 2\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-and-time-tag", "t,h=3 v=1 1\nz,time=1 v=1 1\n",
      pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-escaped-quoted", "t,h=a\\ \"b\\\\ v=1 1\n", pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-unicode", "t,h=é v=1 1\n", pre=["t,h=1 v=1 1\nt,h=2 v=1 1\n"])
write("values-measurement-escaped", "t\\,x,h=3 v=1 1\n",
      pre=["t\\,x,h=1 v=1 1\nt\\,x,h=2 v=1 1\n"])
