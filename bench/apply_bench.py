"""Benchmark: `hactl apply` and `hactl diff` of 1,000 resources on the embedded store.

Runs the real command line (a new process each time, as a pipeline would) against a
fresh SQLite store and prints a table of medians. Target (foundation issue): each
under 2 s.

    .venv/bin/python bench/apply_bench.py [--resources 1000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table


def write_manifests(directory: Path, resources: int, nodes: int = 3) -> None:
    docs = [
        "apiVersion: hactl/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\n"
        "spec: {stonith: {enabled: false}}\n"
    ]
    docs += [
        f"apiVersion: hactl/v1alpha1\nkind: Node\nmetadata: {{name: node{i}}}\n"
        for i in range(1, nodes + 1)
    ]
    for i in range(resources):
        docs.append(
            f"apiVersion: hactl/v1alpha1\nkind: Resource\nmetadata: {{name: r{i}}}\n"
            f"spec:\n  agent: hactl:Dummy\n  params: {{state: /run/bench/r{i}}}\n"
            f"  ops: [{{name: monitor, interval: 10s, timeout: 20s}}]\n"
        )
    for g in range(resources // 10):
        members = ", ".join(f"r{g * 10 + k}" for k in range(3))
        docs.append(
            f"apiVersion: hactl/v1alpha1\nkind: Group\nmetadata: {{name: g{g}}}\n"
            f"spec: {{resources: [{members}]}}\n"
        )
        docs.append(
            f"apiVersion: hactl/v1alpha1\nkind: Location\nmetadata: {{name: l{g}}}\n"
            f"spec: {{resource: g{g}, node: node{g % nodes + 1}, score: 100}}\n"
        )
    (directory / "cluster.yaml").write_text("---\n".join(docs))


def timed(args: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"failed: {' '.join(args)}\n{done.stderr}")
    return elapsed, done.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    hactl = [sys.executable, "-m", "reconciler"]
    samples: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "m").mkdir()
        write_manifests(directory / "m", options.resources)
        manifests = str(directory / "m")
        for run in range(options.repeat):
            store = f"sqlite://{directory}/store{run}.db"
            base = [*hactl, "--store", store]
            steps = {
                "validate": [*hactl, "validate", "-f", manifests],
                "apply (create all)": [*base, "apply", "-f", manifests],
                "diff (no changes)": [*base, "diff", "-f", manifests],
                "apply (unchanged)": [*base, "apply", "-f", manifests],
                "get resources -o json": [*base, "get", "resources", "-o", "json"],
            }
            for name, args in steps.items():
                samples.setdefault(name, []).append(timed(args)[0])
        startup = [timed([*hactl, "--version"])[0] for _ in range(options.repeat)]
    table = Table(
        title=f"hactl on the embedded store, {options.resources} resources, "
        f"median of {options.repeat} runs (new process each)"
    )
    table.add_column("command")
    table.add_column("median s", justify="right")
    table.add_column("min s", justify="right")
    table.add_column("max s", justify="right")
    for name, values in [("hactl --version (start-up)", startup), *samples.items()]:
        table.add_row(
            name, f"{statistics.median(values):.3f}", f"{min(values):.3f}", f"{max(values):.3f}"
        )
    Console().print(table)


if __name__ == "__main__":
    main()
