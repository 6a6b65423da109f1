"""Benchmark: `hactl apply` of many resources on 3 agents → all Started, repeated.

SPEC §6: 1,000 resources converge in ≤ 15 s. A single run hides rare outliers, so this
runs the same convergence several times (a fresh embedded store each time) and prints
one row per run with what the agents' logs say happened meanwhile: late or failed
lease refreshes, lost memberships, agents that exited, leader elections, failed
rounds and passes. Then the median and the worst run.

    .venv/bin/python bench/converge_bench.py [--runs 5] [--resources 1000]
                                             [--keepalive 200ms|1s] [--wait] [--code A --code B]

`--wait` applies with `hactl apply --wait` and shows how long it took, its outcome and
the CPU time the waiting command used. `--code DIR` (repeatable) runs the agents and
commands from another checkout (started with `python -m reconciler` in DIR); several
`--code` alternate run by run, so a before/after comparison shares the machine's
noise. Without it: this checkout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import math
import os
import resource
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import structlog
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.store.url import open_store
from tests.harness import AgentCluster

ROOT = Path(__file__).resolve().parent.parent
NODES = ("n1", "n2", "n3")
TIMINGS = {
    "200ms": "{keepalive: 200ms, warntime: 500ms, deadtime: 1s, initdeadtime: 2s}",
    "1s": "{keepalive: 1s, warntime: 2s, deadtime: 3s, initdeadtime: 6s}",
}
WATCHED = (
    "membership.late_refresh",
    "membership.refresh_failed",
    "membership.lost",
    "agent.lease_lost",
    "leader.elected",
    "leader.round_failed",
    "node.pass_failed",
)


def manifests(resources: int, keepalive: str) -> str:
    docs = [
        "apiVersion: hactl/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n"
        f"  timing: {TIMINGS[keepalive]}\n"
        "  stonith: {enabled: false}\n"
    ]
    docs += [f"apiVersion: hactl/v1alpha1\nkind: Node\nmetadata: {{name: {n}}}\n" for n in NODES]
    docs += [
        f"apiVersion: hactl/v1alpha1\nkind: Resource\nmetadata: {{name: r{i}}}\n"
        "spec: {agent: 'hactl:Dummy', ops: [{name: monitor, interval: 10s, timeout: 20s}]}\n"
        for i in range(resources)
    ]
    return "---\n".join(docs)


def all_started(cluster: AgentCluster, count: int) -> bool:
    resources = cluster.status()["resources"]
    return len(resources) == count and all(r["role"] == "Started" for r in resources.values())


def log_events(cluster: AgentCluster) -> Counter[str]:
    found: Counter[str] = Counter()
    for log in cluster.logs.values():
        for line in log.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line).get("event")
            except (ValueError, AttributeError):
                continue
            if event in WATCHED:
                found[event] += 1
    return found


class LockProbe:
    """How long a writer waits for the store file's write lock, sampled every 50 ms by a
    connection of its own (`BEGIN IMMEDIATE` then `ROLLBACK`: it writes nothing)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self.waits: list[float] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> LockProbe:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
        try:
            while not self._stop.wait(0.05):
                start = time.monotonic()
                conn.execute("BEGIN IMMEDIATE")
                self.waits.append(time.monotonic() - start)
                conn.execute("ROLLBACK")
        finally:
            conn.close()


def revision(cluster: AgentCluster) -> int:
    async def read() -> int:
        store = open_store(cluster.store_url)
        try:
            return await store.revision()
        finally:
            await store.close()

    return asyncio.run(read())


def one_run(
    resources: int, keepalive: str, limit: float, keep: Path | None, code: Path, *, wait: bool
) -> dict[str, object]:
    outcome = ""
    with contextlib.ExitStack() as stack:
        stack.callback(os.chdir, os.getcwd())
        os.chdir(code)  # `python -m reconciler` of the agents and commands runs from here
        if keep is None:
            tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        else:
            keep.mkdir(parents=True, exist_ok=True)
            tmp = Path(tempfile.mkdtemp(dir=keep))
        cluster = AgentCluster(tmp, store_url=f"sqlite://{tmp}/store.db")
        try:
            cluster.apply(manifests(0, keepalive))
            for node in NODES:
                cluster.start(node)
            cluster.wait_status(
                lambda s: (
                    s["leader"] is not None
                    and all(n["state"] == "online" for n in s["nodes"].values())
                ),
                within=30,
                what="3 agents online and a leader",
            )
            first = revision(cluster)
            with LockProbe(tmp / "store.db") as probe:
                start = time.monotonic()
                if wait:
                    path = tmp / "manifests.yaml"
                    path.write_text(manifests(resources, keepalive))
                    args = ("apply", "-f", str(path), "--wait", "--timeout", f"{limit:g}s")
                    before = resource.getrusage(resource.RUSAGE_CHILDREN)
                    waited = cluster.hactl(*args, check=False, timeout=limit + 30)
                    after = resource.getrusage(resource.RUSAGE_CHILDREN)
                    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
                    outcome = "ok" if waited.returncode == 0 else f"exit {waited.returncode}"
                    outcome += f", {cpu:.1f} s CPU"
                else:
                    cluster.apply(manifests(resources, keepalive))
                applied = time.monotonic() - start
                while not all_started(cluster, resources):
                    everyone_gone = all(p.poll() is not None for p in cluster.processes.values())
                    if time.monotonic() - start > limit or everyone_gone:
                        break
                    time.sleep(0.1)
                total = time.monotonic() - start
            exited = [n for n, p in cluster.processes.items() if p.poll() is not None]
            return {
                "outcome": outcome,
                "applied": applied,
                "total": total,
                "exited": exited,
                "commits": revision(cluster) - first,
                "lock p99": _quantile(probe.waits, 0.99),
                "lock max": max(probe.waits, default=0.0),
                **log_events(cluster),
            }
        finally:
            cluster.stop_all()


def _seconds(value: float) -> str:
    return "never" if math.isinf(value) else f"{value:.2f}"


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--keepalive", choices=sorted(TIMINGS), default="200ms")
    parser.add_argument("--limit", type=float, default=180.0, help="give a run up after (s)")
    parser.add_argument("--keep", type=Path, help="keep each run's store and agent logs here")
    parser.add_argument("--code", type=Path, action="append", help="checkout to run (repeatable)")
    parser.add_argument(
        "--wait",
        action="store_true",
        help="`hactl apply --wait` (its time, outcome and CPU in the apply column)",
    )
    options = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    table = Table(
        title=f"apply of {options.resources} resources → all Started, 3 agents, "
        f"embedded store, keepalive {options.keepalive} (target ≤ 15 s)"
    )
    apply_column = "apply --wait s" if options.wait else "apply s"
    columns = ("run", apply_column, "→ Started s", "commits", "lock wait p99/max ms", "exited")
    for column in (*columns, *WATCHED):
        table.add_column(column.removeprefix("membership."), justify="right")
    codes = options.code or [ROOT]
    totals: dict[Path, list[float]] = {code: [] for code in codes}
    for number in range(1, options.runs + 1):
        for code in codes:
            row = one_run(
                options.resources,
                options.keepalive,
                options.limit,
                options.keep,
                code.resolve(),
                wait=options.wait,
            )
            total = float(row["total"])  # type: ignore[arg-type]
            reached = not row["exited"] and total < options.limit
            totals[code].append(total if reached else math.inf)
            shown = f"{total:.2f}" if reached else "never"
            table.add_row(
                f"{number} {code.name}" if len(codes) > 1 else str(number),
                f"{row['applied']:.2f} {row['outcome']}".rstrip(),
                shown,
                str(row["commits"]),
                f"{1000 * row['lock p99']:.0f}/{1000 * row['lock max']:.0f}",  # type: ignore[operator]
                ",".join(row["exited"]) or "-",  # type: ignore[arg-type]
                *(str(row.get(event, 0)) for event in WATCHED),
            )
            print(f"run {number} {code}: {shown} s", file=sys.stderr, flush=True)
    table.add_section()
    for code, found in totals.items():
        label = f" {code.name}" if len(codes) > 1 else ""
        table.add_row(f"median{label}", "", _seconds(statistics.median(found)))
        table.add_row(f"worst{label}", "", _seconds(max(found)))
    Console(width=200).print(table)


if __name__ == "__main__":
    main()
