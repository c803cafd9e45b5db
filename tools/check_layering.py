#!/usr/bin/env python3
"""Fails when a workspace crate depends on a workspace crate the architecture forbids.

The crate graph is the architecture (ARCHITECTURE.md, "Crates"): each crate may depend only
on the crates listed for it below, so a backward import does not compile, and a new path
dependency that would make one compile is caught here. Run by .ci/run.
Usage: python3 tools/check_layering.py   (from anywhere in the repository)
"""

import json
import subprocess
import sys

# crate -> the workspace crates it may depend on (directly). Keep in step with
# ARCHITECTURE.md's crate table.
ALLOWED = {
    "sluice-influxql": set(),
    "sluice-line-protocol": set(),
    "sluice-model": set(),
    "sluice-base": {"sluice-model"},
    "sluice-storage": {"sluice-model", "sluice-base", "sluice-line-protocol"},
    "sluice-ingest": {"sluice-model", "sluice-base", "sluice-line-protocol", "sluice-storage"},
    "sluice": {"sluice-influxql", "sluice-line-protocol", "sluice-model", "sluice-base",
               "sluice-storage", "sluice-ingest"},
}


def main():
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True, capture_output=True, text=True).stdout)
    members = {package["name"]: package for package in metadata["packages"]}
    problems = []
    for name, package in sorted(members.items()):
        if name not in ALLOWED:
            problems.append(f"{name}: not in tools/check_layering.py's table; add it with "
                            "the crates it may depend on (and to ARCHITECTURE.md)")
            continue
        for dependency in package["dependencies"]:
            if dependency["name"] in members and dependency["name"] not in ALLOWED[name]:
                problems.append(f"{name} depends on {dependency['name']}, which the "
                                "architecture forbids")
    for problem in problems:
        print(f"layering: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"layering: {len(members)} crates, every dependency allowed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
