"""Benchmark: the node agent at idle, and the time a large apply takes to converge.

1. Idle: agents on the embedded store, each with N monitored Dummy resources (monitor
   every 10 s) that are all started; CPU (% of one core, the agent plus its reaped
   children: the monitors) and RSS of each agent process, from /proc. Every setting
   (keepalive 200 ms and 1 s; the store's change notification by inotify, and the
   stat polling it falls back to, forced with HACTL_SQLITE_WATCH=poll) runs as its own
   one-node cluster, all at the same time, measured over the same windows: the
   machine's noise hits every column alike. The median of the windows is printed.
   Target: ≤ 2 % and ≤ 80 MB for 100 resources.
2. Converge: M Dummy resources on 3 agents, one `hactl apply`, time until every
   resource is Started. Target: ≤ 15 s for 1,000. `--converge-resources 0` skips it.

    .venv/bin/python bench/agent_bench.py [--idle-resources 100] [--window 10]
                                          [--windows 6] [--converge-resources 1000]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reconciler.logs import configure
from tests.harness import AgentCluster

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


TIMINGS = {
    "200ms": "{keepalive: 200ms, warntime: 500ms, deadtime: 1s, initdeadtime: 2s}",
    "1s": "{keepalive: 1s, warntime: 2s, deadtime: 3s, initdeadtime: 6s}",
}
"""keepalive 200ms/deadtime 1s (the heartbeat tutorial's) and 1s/3s (hactl's default)."""
WATCHES = ("inotify", "poll")
"""How the store's watches learn of other processes' commits (HACTL_SQLITE_WATCH)."""


def manifests(nodes: int, resources: int, *, interval: str, keepalive: str = "200ms") -> str:
    docs = [
        "apiVersion: hactl/v1alpha1\nkind: Cluster\nmetadata: {name: bench}\nspec:\n"
        f"  timing: {TIMINGS[keepalive]}\n"
        "  stonith: {enabled: false}\n"
    ]
    docs += [
        f"apiVersion: hactl/v1alpha1\nkind: Node\nmetadata: {{name: n{i}}}\n"
        for i in range(1, nodes + 1)
    ]
    docs += [
        f"apiVersion: hactl/v1alpha1\nkind: Resource\nmetadata: {{name: r{i}}}\n"
        f"spec: {{agent: 'hactl:Dummy', ops: [{{name: monitor, interval: {interval}, "
        f"timeout: 20s}}]}}\n"
        for i in range(resources)
    ]
    return "---\n".join(docs)


def cpu_seconds(pid: int) -> tuple[float, float]:
    """(user + system time of a process, that of its reaped children: the agent's actions)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime) / CLK_TCK, (cutime + cstime) / CLK_TCK


def rss_mb(pid: int) -> float:
    return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE / 1e6


def all_started(cluster: AgentCluster, count: int) -> bool:
    resources = cluster.status()["resources"]
    return len(resources) == count and all(r["role"] == "Started" for r in resources.values())


def wait(cluster: AgentCluster, count: int, limit: float) -> float:
    start = time.monotonic()
    while not all_started(cluster, count):
        if time.monotonic() - start > limit:
            raise SystemExit(f"not converged within {limit}s")
        for node, process in cluster.processes.items():
            if process.poll() is not None:
                log = cluster.logs[node].read_text().splitlines()[-3:]
                raise SystemExit(f"agent {node} exited with {process.returncode}: {log}")
        time.sleep(0.05)
    return time.monotonic() - start


@dataclass
class Idle:
    """One idle agent being measured: its CPU share (agent, children) per window."""

    keepalive: str
    watch: str
    pid: int = 0
    windows: list[tuple[float, float]] = field(default_factory=list)
    rss: float = 0.0
    exited: str = ""
    """Why the agent ended during the measurement (its last log line): its windows stop."""

    def median(self, part: int | None = None) -> float:
        values = [sum(w) if part is None else w[part] for w in self.windows]
        return statistics.median(values)


@contextmanager
def idle_cluster(
    directory: Path, resources: int, idle: Idle, clusters: list[AgentCluster]
) -> Iterator[AgentCluster]:
    cluster = AgentCluster(directory, store_url=f"sqlite://{directory}/store.db")
    try:
        cluster.apply(manifests(1, resources, interval="10s", keepalive=idle.keepalive))
        os.environ["HACTL_SQLITE_WATCH"] = idle.watch  # the agent inherits the bench's env
        try:
            idle.pid = cluster.start("n1").pid
        finally:
            del os.environ["HACTL_SQLITE_WATCH"]
        clusters.append(cluster)
        yield cluster
    finally:
        cluster.stop_all()


def measure_idle(resources: int, window: float, count: int) -> list[Idle]:
    """Every setting at once, over the same `count` windows of `window` seconds."""
    idles = [Idle(keepalive, watch) for keepalive in TIMINGS for watch in WATCHES]
    clusters: list[AgentCluster] = []
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        for i, idle in enumerate(idles):  # one at a time: starting 100 resources is busy
            directory = Path(tmp) / str(i)
            directory.mkdir()
            cluster = stack.enter_context(idle_cluster(directory, resources, idle, clusters))
            wait(cluster, resources, 180)
        time.sleep(12)  # past the first monitor round, which the starts bunched together
        for _ in range(count):
            for idle, cluster in zip(idles, clusters, strict=True):
                if not idle.exited and cluster.processes["n1"].poll() is not None:
                    idle.exited = cluster.logs["n1"].read_text().splitlines()[-1]
            live = [idle for idle in idles if not idle.exited]
            before, t0 = [cpu_seconds(idle.pid) for idle in live], time.monotonic()
            time.sleep(window)
            after, elapsed = [cpu_seconds(idle.pid) for idle in live], time.monotonic() - t0
            for idle, (own0, kids0), (own1, kids1) in zip(live, before, after, strict=True):
                own, kids = (own1 - own0) / elapsed, (kids1 - kids0) / elapsed
                idle.windows.append((100 * own, 100 * kids))
                idle.rss = rss_mb(idle.pid)
    return idles


def converge(resources: int) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = AgentCluster(Path(tmp), store_url=f"sqlite://{tmp}/store.db")
        try:
            cluster.apply(manifests(3, 0, interval="10s"))
            for node in ("n1", "n2", "n3"):
                cluster.start(node)
            time.sleep(3)
            start = time.monotonic()
            cluster.apply(manifests(3, resources, interval="10s"))
            applied = time.monotonic() - start
            return applied, applied + wait(cluster, resources, 300)
        finally:
            cluster.stop_all()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-resources", type=int, default=100)
    parser.add_argument("--window", type=float, default=10.0, help="seconds per window")
    parser.add_argument("--windows", type=int, default=6)
    parser.add_argument("--converge-resources", type=int, default=1000)
    options = parser.parse_args()
    configure("warning")
    idles = measure_idle(options.idle_resources, options.window, options.windows)
    table = Table(
        title=f"hactl agent on the embedded store, idle with {options.idle_resources} "
        f"resources monitored every 10s (median of {options.windows} windows of "
        f"{options.window:g}s, % of one core)"
    )
    for column in ("keepalive", "store watch", "CPU total", "agent", "monitors", "RSS"):
        table.add_column(column, justify="right")
    for idle in idles:
        if not idle.windows:
            table.add_row(idle.keepalive, idle.watch, "exited", "", "", "")
            continue
        table.add_row(
            idle.keepalive,
            idle.watch,
            f"{idle.median():.2f} %",
            f"{idle.median(0):.2f} %",
            f"{idle.median(1):.2f} %",
            f"{idle.rss:.1f} MB",
        )
    table.caption = "targets: CPU total ≤ 2 %, RSS ≤ 80 MB"
    Console().print(table)
    for idle in idles:
        if idle.exited:
            print(
                f"keepalive {idle.keepalive}, {idle.watch}: the agent exited after "
                f"{len(idle.windows)} windows: {idle.exited}"
            )
    if options.converge_resources:
        applied, total = converge(options.converge_resources)
        table = Table(title=f"apply of {options.converge_resources} resources, 3 agents running")
        for column in ("measure", "value", "target"):
            table.add_column(column)
        table.add_row("apply", f"{applied:.2f} s", "")
        everything = f"apply → all {options.converge_resources} Started"
        table.add_row(everything, f"{total:.2f} s", "≤ 15 s")
        Console().print(table)


if __name__ == "__main__":
    main()
