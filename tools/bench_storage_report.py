#!/usr/bin/env python3
"""Combines the per-run JSON files of tools/bench_storage.sh into markdown tables and one
results file (storage-<stamp>.json and storage-latest.json beside the runs).

Usage: bench_storage_report.py OUT_DIR STAMP "CASES" "SERVERS" "SERIES_SERVERS"
Exit status 1 if a Sluice data set was not read back bit-exact or a load request failed.
"""
import json
import os
import sys

NAMES = {"sluice": "Sluice", "influxdb": "InfluxDB 1.6.7", "victoria-metrics": "VictoriaMetrics"}
MIB = 1024.0


def load(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def read_back(run):
    verify = run.get("verify")
    if not verify:
        return "not checked"
    if verify["differing"] == verify["unexpected"] == verify["missing"] == 0:
        return f"all {verify['bit_exact']:,} bit-exact"
    return (f"{verify['bit_exact']:,} exact, {verify['differing']:,} differ "
            f"(max rel. err {verify['max_relative_error']:.1e}), "
            f"{verify['missing']:,} missing, {verify['unexpected']:,} unexpected")


def main():
    out_dir, stamp, cases, servers, series_servers = sys.argv[1:6]
    cases, servers, series_servers = cases.split(), servers.split(), series_servers.split()
    results = {"time_utc": stamp, "cases": {}, "series": {}}
    ok = True
    print("| data set | server | values | bytes/value | data | index | WAL | total MiB "
          "| other MiB | vs InfluxDB | read back | peak RSS MiB | start-up ms | RSS after start MiB "
          "| load values/s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|")
    for case in cases:
        span, decimals = case.split(":")
        runs = {s: load(os.path.join(out_dir, f"{span}-{decimals}-{s}.json")) for s in servers}
        results["cases"][case] = runs
        influx = runs.get("influxdb")
        for server, run in runs.items():
            if run is None:
                print(f"| {case} | {NAMES.get(server, server)} | run failed |")
                ok = ok and server != "sluice"
                continue
            values = run["load"]["values_accepted"]
            disk = run["disk"]
            per_value = lambda b: b / values if values else float("nan")
            ratio = ""
            if influx and influx["load"]["values_accepted"]:
                other = influx["disk"]["total"] / influx["load"]["values_accepted"]
                ratio = f"{per_value(disk['total']) / other:.3f}x"
            run["bytes_per_value"] = per_value(disk["total"])
            label = "2 decimals" if decimals != "full" else "full precision"
            print(f"| {span} {label} | {NAMES.get(server, server)} | {values:,} "
                  f"| **{per_value(disk['total']):.3f}** | {per_value(disk['data']):.3f} "
                  f"| {per_value(disk['index']):.3f} | {per_value(disk['wal']):.3f} "
                  f"| {disk['total'] / MIB / MIB:.1f} | {disk['other'] / MIB / MIB:.1f} "
                  f"| {ratio} | {read_back(run)} "
                  f"| {run['peak_rss_kb'] / MIB:.0f} | {run['startup_ns'] / 1e6:.0f} "
                  f"| {run['rss_after_startup_kb'] / MIB:.0f} "
                  f"| {run['load']['values_per_s']:,.0f} |")
            if server == "sluice":
                verify = run.get("verify") or {}
                ok = ok and verify.get("bit_exact", -1) == verify.get("values_expected")
                ok = ok and run["load"]["requests_failed"] == 0
    if series_servers:
        print()
        print("| 1M series | loaded | load s | disk MiB | peak RSS MiB | start-up ms "
              "| RSS after start MiB |")
        print("|---|---|---:|---:|---:|---:|---:|")
    for server in series_servers:
        run = load(os.path.join(out_dir, f"series-{server}.json"))
        results["series"][server] = run
        if run is None:
            print(f"| {NAMES.get(server, server)} | run failed |")
            continue
        elapsed = run["load"].get("elapsed_s")
        print(f"| {NAMES.get(server, server)} | {'yes' if run['loaded'] else 'NO (timed out)'} "
              f"| {elapsed if elapsed is None else f'{elapsed:.1f}'} "
              f"| {run['disk']['total'] / MIB / MIB:.1f} | {run['peak_rss_kb'] / MIB:.0f} "
              f"| {run['startup_ns'] / 1e6:.0f} | {run['rss_after_startup_kb'] / MIB:.0f} |")
    results["ok"] = ok
    text = json.dumps(results, indent=2)
    for name in (f"storage-{stamp}.json", "storage-latest.json"):
        with open(os.path.join(os.path.dirname(out_dir.rstrip("/")), name), "w") as f:
            f.write(text + "\n")
    print(f"\nresults: target/bench/storage-{stamp}.json")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
