"""Benchmark: hactl's scheduler against Pacemaker's `crm_simulate -R`, side by side.

The same generated clusters go to both: nodes with a rack attribute, 60 % of the
resources in groups of three, a location per three units (a node preference, or a rule
on the rack), advisory and mandatory colocations and orders between units (one per ten
resources each, never a cycle), stonith with one fence device. Each size is scheduled
in steady state (everything already placed where hactl puts it) and again with one node
failed (lost, to be fenced and recovered elsewhere). hactl runs in a child process
pinned to one core, loading the saved snapshot and timing `schedule()` alone; Pacemaker
runs `crm_simulate -x CIB -R` on `hactl export cib` of the same snapshot. Time is the
median of the runs; memory is each process's peak RSS (VmHWM: the child's own high-water
mark, which a fork from this large benchmark process would inflate in ru_maxrss).

Target (SPEC §6): hactl ≤ 1 s and ≤ 500 MB at 100 nodes x 10,000 resources, and
faster than crm_simulate at every size. crm_simulate needs a while at the large sizes
(and far longer with --probes): it is skipped above --pacemaker-max resources (the
table says so) and stopped after --timeout seconds.

    .venv/bin/python bench/scheduler_bench.py [--sizes 3x10,16x200,...] [--repeat 3]
        [--pacemaker-max 10000] [--timeout 600] [--probes]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from reconciler.cib import to_cib
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import KINDS, Document
from reconciler.scheduler import schedule
from reconciler.scheduler.outcome import predicted
from reconciler.snapshot import ClusterSnapshot, NodeState

SIZES = [(3, 10), (16, 200), (32, 1_000), (64, 5_000), (100, 10_000)]
NOW = 1_700_000_000.0
LARGE = 5_000
"""From this many resources on, each scenario runs once (a crm_simulate run takes minutes)."""

CHILD = """
import json, os, sys, time
from reconciler.scheduler import schedule
from reconciler.snapshot import ClusterSnapshot
os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
snapshot = ClusterSnapshot.from_json(open(sys.argv[1]).read())
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter()
    schedule(snapshot, snapshot.observed_at)
    times.append(time.perf_counter() - start)
print(json.dumps(times))
"""
"""hactl's side: load the saved snapshot, then time `schedule()` alone, on one core."""


@dataclass(frozen=True)
class Measure:
    seconds: float | None
    rss_mb: float | None
    note: str = ""


def _doc(kind: str, name: str, spec: dict[str, Any]) -> Document:
    body = {"apiVersion": "hactl/v1alpha1", "kind": kind, "metadata": {"name": name}}
    return KINDS[kind].model_validate({**body, "spec": spec})


def cluster(nodes: int, resources: int, *, seed: int = 1) -> DeclaredState:
    """A realistic mix: groups, locations, colocations and orders over `resources`."""
    rng = random.Random(seed)
    names = [f"n{i:03d}" for i in range(1, nodes + 1)]
    docs = [
        _doc("Cluster", "bench", {"stonith": {"enabled": True}, "defaults": {"stickiness": 100}}),
        _doc("FenceDevice", "power", {"driver": "fence_ipmilan", "nodes": names}),
    ]
    docs += [_doc("Node", n, {"attributes": {"rack": f"r{i % 4}"}}) for i, n in enumerate(names)]
    monitor = [{"name": "monitor", "interval": "10s", "timeout": "20s"}]
    agent = {"agent": "ocf:heartbeat:Dummy", "ops": monitor}
    docs += [
        _doc("Resource", f"r{i:05d}", {**agent, "params": {"state": f"/run/r{i}"}})
        for i in range(resources)
    ]
    grouped = resources * 6 // 10 // 3 * 3
    units = [f"g{i:05d}" for i in range(grouped // 3)]
    docs += [
        _doc("Group", unit, {"resources": [f"r{3 * i + k:05d}" for k in range(3)]})
        for i, unit in enumerate(units)
    ]
    units += [f"r{i:05d}" for i in range(grouped, resources)]
    rng.shuffle(units)
    for i, unit in enumerate(units[: len(units) // 3]):
        if i % 4:
            spec: dict[str, Any] = {"resource": unit, "node": rng.choice(names), "score": 100}
        else:
            rack = f"r{rng.randrange(4)}"
            rule = {"attribute": "rack", "op": "eq", "value": rack, "score": 50}
            spec = {"resource": unit, "rules": [rule]}
        docs.append(_doc("Location", f"l{i:05d}", spec))
    for i in range(resources // 10):
        first, then = sorted(rng.sample(range(len(units)), 2))
        score = rng.choice(["INFINITY", 500, -500])
        docs.append(
            _doc(
                "Colocation",
                f"c{i:05d}",
                {"resource": units[then], "with": units[first], "score": score},
            )
        )
        first, then = sorted(rng.sample(range(len(units)), 2))
        kind = rng.choice(["Mandatory", "Optional"])
        docs.append(
            _doc("Order", f"o{i:05d}", {"first": units[first], "then": units[then], "kind": kind})
        )
    return DeclaredState.of(docs)


def scenarios(nodes: int, resources: int) -> dict[str, ClusterSnapshot]:
    """Steady state (everything where hactl places it), and the same with a node lost."""
    declared = cluster(nodes, resources)
    empty = ClusterSnapshot(
        declared=declared, nodes={n: NodeState() for n in declared.nodes}, observed_at=NOW
    )
    steady = predicted(empty, schedule(empty, NOW))
    lost = dict(steady.nodes)
    lost[min(lost)] = NodeState(online=False, unclean=True, lost_at=NOW - 1)
    return {"steady state": steady, "one node failed": replace(steady, nodes=lost)}


def _run(args: list[str], *, timeout: float) -> tuple[str, float, float]:
    """Run a child to its end: (stdout, seconds, peak RSS in MB); TimeoutError if too slow.

    The peak is the child's VmHWM, sampled every few milliseconds until it exits.
    """
    with tempfile.TemporaryFile() as out:
        start = time.perf_counter()
        child = subprocess.Popen(args, stdout=out, stderr=subprocess.DEVNULL)
        peak_kb = 0
        while child.poll() is None:
            peak_kb = max(peak_kb, _high_water_kb(child.pid))
            if time.perf_counter() - start > timeout:
                child.kill()
                child.wait()
                raise TimeoutError
            time.sleep(0.005)
        elapsed = time.perf_counter() - start
        if child.returncode != 0:
            raise RuntimeError(f"{args[0]} exited with {child.returncode}")
        out.seek(0)
        return out.read().decode(), elapsed, peak_kb / 1024


def _high_water_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass  # it exited meanwhile
    return 0


def hactl(snapshot: ClusterSnapshot, *, runs: int, workdir: Path, timeout: float) -> Measure:
    path = workdir / "snapshot.json"
    path.write_text(snapshot.to_json())
    args = [sys.executable, "-c", CHILD, str(path), str(runs)]
    try:
        out, _, rss = _run(args, timeout=timeout)
    except TimeoutError:
        return Measure(None, None, f"over {timeout:.0f} s")
    return Measure(statistics.median(json.loads(out)), rss)


def pacemaker(
    snapshot: ClusterSnapshot, *, runs: int, workdir: Path, timeout: float, skip: bool, probes: bool
) -> Measure:
    """crm_simulate -R on the exported CIB; with `probes`, as a cluster that has yet to
    probe every resource on every node (the export turns startup probes off: a snapshot
    lists everything that runs)."""
    crm_simulate = shutil.which("crm_simulate")
    if crm_simulate is None:
        return Measure(None, None, "not installed")
    if skip:
        return Measure(None, None, "skipped (--pacemaker-max)")
    cib = ET.fromstring(to_cib(snapshot))
    for option in cib.iterfind(".//cluster_property_set/nvpair[@name='enable-startup-probes']"):
        option.set("value", "true" if probes else "false")
    path = workdir / "cib.xml"
    path.write_text(ET.tostring(cib, encoding="unicode"))
    times, peak = [], 0.0
    for _ in range(runs):
        try:
            _, seconds, rss = _run([crm_simulate, "-x", str(path), "-R", "-Q"], timeout=timeout)
        except TimeoutError:
            return Measure(None, None, f"over {timeout:.0f} s")
        times.append(seconds)
        peak = max(peak, rss)
    return Measure(statistics.median(times), peak)


def _size(text: str) -> tuple[int, int]:
    nodes, _, resources = text.partition("x")
    return int(nodes), int(resources.replace(",", "").replace("_", ""))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(f"{n}x{r}" for n, r in SIZES))
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement")
    parser.add_argument(
        "--pacemaker-max",
        type=int,
        metavar="RESOURCES",
        help="skip crm_simulate above this size (default 10000; with --probes 1000)",
    )
    parser.add_argument("--timeout", type=float, default=600.0, metavar="SECONDS")
    parser.add_argument(
        "--probes", action="store_true", help="let crm_simulate plan startup probes too"
    )
    args = parser.parse_args()
    if args.pacemaker_max is None:
        args.pacemaker_max = 1_000 if args.probes else 10_000

    table = Table(title="Scheduler: hactl vs Pacemaker's crm_simulate -R (median, peak RSS)")
    for column in ("nodes x resources", "scenario", "hactl", "hactl RSS", "crm_simulate"):
        table.add_column(column, justify="left" if column == "scenario" else "right")
    table.add_column("crm_simulate RSS", justify="right")
    table.add_column("speed-up", justify="right")
    console = Console(width=110)  # the table is wider than a default 80-column pipe
    for text in args.sizes.split(","):
        nodes, resources = _size(text)
        runs = 1 if resources >= LARGE else args.repeat
        for name, snapshot in scenarios(nodes, resources).items():
            with tempfile.TemporaryDirectory() as tmp:
                workdir = Path(tmp)
                ours = hactl(snapshot, runs=runs, workdir=workdir, timeout=args.timeout)
                theirs = pacemaker(
                    snapshot,
                    runs=runs,
                    workdir=workdir,
                    timeout=args.timeout,
                    skip=resources > args.pacemaker_max,
                    probes=args.probes,
                )
            speedup = (
                f"{theirs.seconds / ours.seconds:.0f}x" if ours.seconds and theirs.seconds else "—"
            )
            table.add_row(
                f"{nodes} x {resources:,}",
                name,
                _seconds(ours),
                _mb(ours),
                _seconds(theirs),
                _mb(theirs),
                speedup,
            )
            console.print(f"{nodes} x {resources:,} {name}: done", style="dim")
    console.print(table)


def _seconds(measure: Measure) -> str:
    return measure.note if measure.seconds is None else f"{measure.seconds:.3f} s"


def _mb(measure: Measure) -> str:
    return "" if measure.rss_mb is None else f"{measure.rss_mb:,.0f} MB"


if __name__ == "__main__":
    main()
