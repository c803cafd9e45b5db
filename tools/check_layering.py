#!/usr/bin/env python3
"""Fails when a workspace crate depends on a workspace crate the architecture forbids, or a
module of the root crate imports a module it must not.

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
    "sluice-query": {"sluice-model", "sluice-base", "sluice-influxql", "sluice-line-protocol",
                     "sluice-storage", "sluice-ingest"},
    "sluice": {"sluice-influxql", "sluice-line-protocol", "sluice-model", "sluice-base",
               "sluice-storage", "sluice-ingest", "sluice-query"},
}

# Root crate (src/): module -> the root modules it must never name (`crate::<module>`), so
# calls keep running one way (net -> http -> {inputs' decoders, ingest, query}; server on
# top). Keep in step with ARCHITECTURE.md's module table.
ROOT_MODULE_FORBIDS = {
    "http": {"net", "inputs", "server", "export", "verify", "backup"},
    "inputs": {"net", "server"},
    "net": {"server"},
    "config": {"net", "http", "inputs", "server"},
    "subscriber": {"net", "http", "inputs", "server"},
    "backup": {"net", "http", "inputs", "server"},
    "cluster": {"net", "http", "inputs", "server"},
}


def root_module_problems(root):
    """`crate::<forbidden>` outside comments in the files of each module of the table."""
    import os
    import re
    problems = []
    for module, forbidden in sorted(ROOT_MODULE_FORBIDS.items()):
        paths = [os.path.join(root, "src", module + ".rs")]
        for directory, _, files in os.walk(os.path.join(root, "src", module)):
            paths += [os.path.join(directory, name) for name in files if name.endswith(".rs")]
        for path in sorted(p for p in paths if os.path.isfile(p)):
            with open(path, encoding="utf-8") as source:
                for number, line in enumerate(source, 1):
                    code = line.split("//", 1)[0]
                    for name in re.findall(r"\bcrate::([a-z_]+)", code):
                        if name in forbidden:
                            problems.append(f"{os.path.relpath(path, root)}:{number}: module "
                                            f"{module} imports crate::{name}, which the "
                                            "architecture forbids")
    return problems


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
    root = metadata["workspace_root"]
    problems += root_module_problems(root)
    for problem in problems:
        print(f"layering: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"layering: {len(members)} crates, every dependency allowed; "
          f"{len(ROOT_MODULE_FORBIDS)} root modules import nothing forbidden")
    return 0


if __name__ == "__main__":
    sys.exit(main())
