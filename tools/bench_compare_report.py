#!/usr/bin/env python3
"""Combines the per-run JSON files of tools/bench_compare.sh into one results file and a
Markdown table: for each metric and series count, each server's median over the rounds with
its spread (min-max), and the ratio Sluice / peer of the medians.

Run files are RUNS/<series>-<round>-<server>.json (written by bench_compare.sh's bench_run).
The optional summaries of tools/bench_query.sh and tools/bench_storage.sh are folded in as
extra rows (one run each: their own repeats are inside them).

Writes OUT/compare-<stamp>.json, OUT/compare-<stamp>.md and OUT/compare-latest.json; with
--performance-md, replaces the text between COMPARE_START and COMPARE_END in that file.
Exit status 1 if any run failed to load, or a Sluice run stored a different count than it
acknowledged (a peer's mismatch is listed under the table: InfluxDB answers 500 "timeout" to
writes it may still store).
"""
import argparse
import json
import os
import re
import statistics
import sys

NAMES = {"sluice": "Sluice", "influxdb": "InfluxDB 1.6.7", "victoria-metrics": "VictoriaMetrics"}
PEERS = ("influxdb", "victoria-metrics")
RUN_FILE = re.compile(r"^(\d+)-(\d+)-(sluice|influxdb|victoria-metrics)\.json$")
COMPARE_START = "<!-- compare-table:start -->"
COMPARE_END = "<!-- compare-table:end -->"
KIB_PER_MIB = 1024.0
US_PER_MS = 1000.0
NS_PER_MS = 1e6

# (key, label, unit, how to read it from a run); None means the run has no figure.
METRICS = (
    ("values_per_s", "ingest values/s", "",
     lambda run: (run.get("load") or {}).get("values_per_s")),
    ("p99_write_ms", "p99 write latency", "ms",
     lambda run: ((run.get("load") or {}).get("latency_us") or {}).get("p99_us", 0) / US_PER_MS
     if run.get("load") else None),
    ("peak_rss_mib", "peak RSS (VmHWM) during ingest", "MiB",
     lambda run: run["vm_hwm_kb"] / KIB_PER_MIB if run.get("vm_hwm_kb") is not None else None),
    ("startup_ms", "start-up on the loaded data (exec to /ping 204)", "ms",
     lambda run: run["startup_ns"] / NS_PER_MS if run.get("startup_ns") is not None else None),
)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", required=True, help="directory of the run JSON files")
    parser.add_argument("--out", required=True, help="where compare-<stamp>.* go")
    parser.add_argument("--stamp", required=True, help="UTC time of the start, for file names")
    parser.add_argument("--servers", required=True, help="server names, space separated")
    parser.add_argument("--series-counts", required=True, help="space separated")
    parser.add_argument("--query-json", default="", help="bench_query.sh summary, if run")
    parser.add_argument("--storage-json", default="", help="bench_storage.sh summary, if run")
    parser.add_argument("--performance-md", default="", help="PERFORMANCE.md to update")
    return parser.parse_args()


def load_json(path):
    if not path:
        return None
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as error:
        print(f"warning: cannot read {path}: {error}", file=sys.stderr)
        return None


def read_runs(runs_dir):
    """Every run, keyed by (series, server), in round order."""
    runs = {}
    for name in sorted(os.listdir(runs_dir)):
        match = RUN_FILE.match(name)
        if not match:
            continue
        run = load_json(os.path.join(runs_dir, name))
        if run is None:
            continue
        runs.setdefault((int(match.group(1)), match.group(3)), []).append(run)
    for key in runs:
        runs[key].sort(key=lambda run: run["round"])
    return runs


def stored_equals_accepted(run):
    """True, False, or None when nothing could be counted."""
    load = run.get("load")
    if not load or run.get("stored_values") is None:
        return None
    if run["stored_values"] != load["values_accepted"]:
        return False
    # VictoriaMetrics stores values, not lines; its line count is derived from them.
    return run["server"] == "victoria-metrics" or run["stored_lines"] == load["lines_accepted"]


def spread(values):
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "runs": len(values), "values": values}


def ratio(numerator, denominator):
    if not numerator or not denominator or denominator["median"] == 0:
        return None
    return numerator["median"] / denominator["median"]


def number(value):
    if value is None:
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    if abs(value) >= 1:
        return f"{value:.2f}"
    return f"{value:.3f}"


def cell(figure):
    if figure is None:
        return "n/a"
    if figure["runs"] == 1:
        return number(figure["median"])
    return f"{number(figure['median'])} ({number(figure['min'])}–{number(figure['max'])})"


def times(value):
    return "n/a" if value is None else f"{value:.3f}×"


def summarise(runs, servers, series_counts, checks):
    """Per (metric, series count): figures per server and the Sluice/peer ratios; then how
    many runs stored exactly what was acknowledged."""
    rows = []
    for series in series_counts:
        for key, label, unit, read in METRICS:
            figures = {s: spread([read(r) for r in runs.get((series, s), [])]) for s in servers}
            rows.append({"metric": key, "label": label, "unit": unit, "series": series,
                         "figures": figures,
                         "ratios": {p: ratio(figures.get("sluice"), figures.get(p))
                                    for p in PEERS}})
        texts = {}
        for server in servers:
            found = checks.get(f"{series}/{server}", [])
            texts[server] = f"{sum(1 for c in found if c)}/{len(found)} runs"
        rows.append({"metric": "stored_equals_accepted", "label": "stored == acknowledged",
                     "unit": "", "series": series, "texts": texts})
    return rows


def verification(runs, servers, series_counts):
    table, ok, notes = {}, True, []
    for series in series_counts:
        for server in servers:
            server_runs = runs.get((series, server), [])
            checks = [stored_equals_accepted(run) for run in server_runs]
            table[f"{series}/{server}"] = checks
            for run, check in zip(server_runs, checks):
                where = f"{NAMES[server]}, {series:,} series, round {run['round']}"
                load = run.get("load")
                if not run.get("loaded") or load is None:
                    ok = False
                    notes.append(f"{where}: the load did not finish")
                    continue
                if load.get("requests_failed"):
                    notes.append(f"{where}: {load['requests_failed']} requests failed "
                                 f"({load.get('errors')}; first: {load.get('first_error')})")
                if load["lines_accepted"] < series:
                    notes.append(f"{where}: only {load['lines_accepted']:,} lines accepted, "
                                 f"fewer than the series")
                if check is False:
                    ok = ok and server != "sluice"
                    notes.append(f"{where}: stored {run['stored_values']:,} values, "
                                 f"acknowledged {load['values_accepted']:,}")
                elif check is None:
                    notes.append(f"{where}: stored count not available")
                ignored = run.get("vm_rows_ignored") or {}
                if any(ignored.values()):
                    notes.append(f"{where}: rows ignored after a 204: {ignored}")
    return table, ok, notes


def query_rows(query):
    rows = []
    for index, entry in enumerate(query.get("queries", []), start=1):
        figures = {"sluice": dict(entry["sluice_ms"], runs=query.get("runs")),
                   "influxdb": dict(entry["influxdb_ms"], runs=query.get("runs"))}
        rows.append({"metric": f"query_Q{index}_ms", "label": f"query Q{index} latency",
                     "unit": "ms", "series": "100 × 10 fields, 24 h", "query": entry["query"],
                     "figures": figures,
                     "ratios": {"influxdb": entry.get("ratio_median")}})
    return rows


def storage_rows(storage):
    rows = []
    for case, runs in (storage.get("cases") or {}).items():
        figures = {}
        for server, run in (runs or {}).items():
            if run and run.get("bytes_per_value") is not None:
                value = run["bytes_per_value"]
                figures[server] = {"median": value, "min": value, "max": value, "runs": 1}
        rows.append({"metric": "bytes_per_value", "label": "bytes per value on disk",
                     "unit": "", "series": f"100 hosts, {case}", "figures": figures,
                     "ratios": {p: ratio(figures.get("sluice"), figures.get(p)) for p in PEERS}})
    return rows


def markdown(rows, servers, stamp, loadavgs):
    head = ["metric", "series"] + [f"{NAMES[s]} median (min–max)" for s in servers]
    peers = [p for p in PEERS if p in servers]
    head += [f"Sluice / {NAMES[p]}" for p in peers] if "sluice" in servers else []
    lines = [f"Comparison of {stamp} (load average over the runs: {loadavgs}).", "",
             "| " + " | ".join(head) + " |",
             "|" + "---|" * 2 + "---:|" * (len(head) - 2)]
    for row in rows:
        unit = f" ({row['unit']})" if row["unit"] else ""
        series = f"{row['series']:,}" if isinstance(row["series"], int) else row["series"]
        cells = [row["label"] + unit, series]
        if "texts" in row:
            lines.append("| " + " | ".join(cells + [row["texts"].get(s, "n/a") for s in servers]
                                           + [""] * (len(head) - 2 - len(servers))) + " |")
            continue
        cells += [cell(row["figures"].get(s)) for s in servers]
        if "sluice" in servers:
            cells += [times(row["ratios"].get(p)) for p in peers]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def loadavg_range(runs):
    ones = []
    for server_runs in runs.values():
        for run in server_runs:
            for key in ("loadavg_before", "loadavg_after"):
                if run.get(key):
                    ones.append(float(run[key].split()[0]))
    return f"1-minute {min(ones):.2f}–{max(ones):.2f}" if ones else "not recorded"


def update_performance_md(path, table):
    with open(path) as f:
        text = f.read()
    start, end = text.find(COMPARE_START), text.find(COMPARE_END)
    if start < 0 or end < start:
        print(f"warning: {path} has no {COMPARE_START} ... {COMPARE_END}; not updated",
              file=sys.stderr)
        return
    text = text[:start + len(COMPARE_START)] + "\n" + table + text[end:]
    with open(path, "w") as f:
        f.write(text)
    print(f"updated {path}")


def main():
    args = parse_args()
    # Columns in a fixed order (Sluice first), whatever order the runs went in.
    servers = [name for name in NAMES if name in args.servers.split()]
    series_counts = [int(s) for s in args.series_counts.split()]
    runs = read_runs(args.runs)
    checks, ok, notes = verification(runs, servers, series_counts)
    rows = summarise(runs, servers, series_counts, checks)
    query, storage = load_json(args.query_json), load_json(args.storage_json)
    if query:
        rows += query_rows(query)
    if storage:
        rows += storage_rows(storage)
    table = markdown(rows, servers, args.stamp, loadavg_range(runs))
    if notes:
        table += "\n" + "\n".join(f"- {note}" for note in notes) + "\n"
    results = {"time_utc": args.stamp, "servers": servers, "series_counts": series_counts,
               "rows": rows, "stored_equals_accepted": checks, "notes": notes, "ok": ok,
               "runs": {f"{series}/{server}": server_runs
                        for (series, server), server_runs in sorted(runs.items())},
               "query": query, "storage": storage}
    os.makedirs(args.out, exist_ok=True)
    text = json.dumps(results, indent=2)
    for name in (f"compare-{args.stamp}.json", "compare-latest.json"):
        with open(os.path.join(args.out, name), "w") as f:
            f.write(text + "\n")
    with open(os.path.join(args.out, f"compare-{args.stamp}.md"), "w") as f:
        f.write(table)
    print(table)
    print(f"results: {os.path.join(args.out, f'compare-{args.stamp}.json')}")
    if args.performance_md:
        update_performance_md(args.performance_md, table)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
