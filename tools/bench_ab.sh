#!/usr/bin/env bash
# bench_ab.sh: ingest of two Sluice binaries, A and B, side by side in one run.
#
# Usage: tools/bench_ab.sh A_BINARY B_BINARY
# For each round 1..ROUNDS, runs tools/bench_ingest.sh (Sluice only, existing binaries) once
# with A and once with B, the order alternating every round, so slow drift of the machine
# (another job, thermal state) falls on both equally. Each run checks, as bench_ingest.sh
# does, that every accepted point was stored. Prints a Markdown table of values/s and of
# values per server CPU-second per round, the medians and the B/A ratios of the medians, and
# writes target/bench/ab-<UTC>.json. Values per CPU-second is the figure to trust on a busy
# machine: another job slows a run down but hardly changes the CPU time its work costs.
# Use it before and after any change that could move ingest speed (the binaries can be
# copies of target/release/sluice kept from before the change).
#
# Settings (environment): ROUNDS=3, plus bench_ingest.sh's load settings
# (BENCH_DURATION=10s BENCH_SERIES=1000 by default here).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly ROOT
ROUNDS="${ROUNDS:-3}"
export BENCH_DURATION="${BENCH_DURATION:-10s}" BENCH_SERIES="${BENCH_SERIES:-1000}"
export BENCH_SKIP_BUILD=1 BENCH_SERVERS=sluice

die() { echo "bench_ab: $*" >&2; exit 1; }
[[ $# -eq 2 ]] || die "usage: tools/bench_ab.sh A_BINARY B_BINARY"
binary_a="$(realpath "$1")"
binary_b="$(realpath "$2")"
[[ -x "$binary_a" && -x "$binary_b" ]] || die "both binaries must be executable files"
load_binary="$ROOT/target/release/sluice-load"
[[ -x "$load_binary" ]] || die "missing $load_binary (cargo build --release --bin sluice-load)"

work="$(mktemp -d /tmp/bench-ab-XXXXXX)"
trap 'rm -rf "$work"' EXIT
results="$work/results.txt"
: >"$results"
# bench_ingest.sh runs the binaries under $CARGO_TARGET_DIR/release: one such tree per side.
for side in a b; do
    mkdir -p "$work/$side/release"
    ln -s "$load_binary" "$work/$side/release/sluice-load"
done
ln -s "$binary_a" "$work/a/release/sluice"
ln -s "$binary_b" "$work/b/release/sluice"

for round in $(seq 1 "$ROUNDS"); do
    if (( round % 2 == 1 )); then order="a b"; else order="b a"; fi
    for side in $order; do
        echo "bench_ab: round $round, $side" >&2
        CARGO_TARGET_DIR="$work/$side" "$ROOT/tools/bench_ingest.sh" >"$work/run.log" 2>&1 ||
            { cat "$work/run.log" >&2; die "bench_ingest.sh failed (round $round, $side)"; }
        python3 -c '
import json, sys
run = json.load(open(sys.argv[1]))["results"]["sluice"]
load, server = run["load"], run["server"]
cpu_s = server.get("load_cpu_s") or 0
print(sys.argv[2], sys.argv[3], load["values_per_s"],
      load["values_accepted"] / cpu_s if cpu_s else 0)' \
            "$ROOT/target/bench/ingest-latest.json" "$round" "$side" >>"$results"
    done
done

python3 - "$results" "$binary_a" "$binary_b" "$ROOT/target/bench" <<'PY'
import json, statistics, sys, time
path, binary_a, binary_b, out_dir = sys.argv[1:]
runs = [line.split() for line in open(path)]
rate = {"a": [], "b": []}
per_cpu = {"a": [], "b": []}
rounds = {}
for round_, side, values_per_s, values_per_cpu_s in runs:
    rate[side].append(float(values_per_s))
    per_cpu[side].append(float(values_per_cpu_s))
    rounds.setdefault(round_, {})[side] = (float(values_per_s), float(values_per_cpu_s))
print("| round | A values/s | B values/s | A values/CPU-s | B values/CPU-s |")
print("|---|---:|---:|---:|---:|")
for round_, sides in sorted(rounds.items(), key=lambda item: int(item[0])):
    (a_rate, a_cpu), (b_rate, b_cpu) = sides["a"], sides["b"]
    print(f"| {round_} | {a_rate:,.0f} | {b_rate:,.0f} | {a_cpu:,.0f} | {b_cpu:,.0f} |")
medians = {"rate_a": statistics.median(rate["a"]), "rate_b": statistics.median(rate["b"]),
           "cpu_a": statistics.median(per_cpu["a"]), "cpu_b": statistics.median(per_cpu["b"])}
print(f"| median | {medians['rate_a']:,.0f} | {medians['rate_b']:,.0f} "
      f"| {medians['cpu_a']:,.0f} | {medians['cpu_b']:,.0f} |")
ratio_rate = medians["rate_b"] / medians["rate_a"]
ratio_cpu = medians["cpu_b"] / medians["cpu_a"] if medians["cpu_a"] else 0
print(f"\nB/A ratio of medians: values/s {ratio_rate:.3f}, values per CPU-second "
      f"{ratio_cpu:.3f}   (A = {binary_a}, B = {binary_b})")
stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
summary = {"time_utc": stamp, "a": binary_a, "b": binary_b, "runs": runs, "medians": medians,
           "ratio_b_over_a_values_per_s": ratio_rate,
           "ratio_b_over_a_values_per_cpu_s": ratio_cpu}
with open(f"{out_dir}/ab-{stamp}.json", "w") as out:
    json.dump(summary, out, indent=2)
PY
