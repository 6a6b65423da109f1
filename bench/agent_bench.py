"""Benchmark: the node agent at idle, and the time a large apply takes to converge.

1. Idle: one agent on the embedded store with N monitored Dummy resources (monitor
   every 10 s) that are all started; CPU (% of one core) and RSS of the agent process
   over a measuring window, from /proc. Target: ≤ 2 % and ≤ 80 MB for 100 resources.
2. Converge: M Dummy resources on 3 agents, one `hactl apply`, time until every
   resource is Started. Target: ≤ 15 s for 1,000.

    .venv/bin/python bench/agent_bench.py [--idle-resources 100] [--window 30]
                                          [--converge-resources 1000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.harness import AgentCluster

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


TIMINGS = {
    "200ms": "{keepalive: 200ms, warntime: 500ms, deadtime: 1s, initdeadtime: 2s}",
    "1s": "{keepalive: 1s, warntime: 2s, deadtime: 3s, initdeadtime: 6s}",
}
"""keepalive 200ms/deadtime 1s (the heartbeat tutorial's) and 1s/3s (hactl's default)."""


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


def cpu_seconds(pid: int) -> float:
    """User + system time of a process and its reaped children (the agent's actions)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    utime, stime, cutime, cstime = (int(fields[i]) for i in (11, 12, 13, 14))
    return (utime + stime + cutime + cstime) / CLK_TCK


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
        time.sleep(0.05)
    return time.monotonic() - start


def idle(resources: int, window: float, keepalive: str) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        cluster = AgentCluster(Path(tmp), store_url=f"sqlite://{tmp}/store.db")
        try:
            cluster.apply(manifests(1, resources, interval="10s", keepalive=keepalive))
            process = cluster.start("n1")
            wait(cluster, resources, 120)
            time.sleep(2)
            before, t0 = cpu_seconds(process.pid), time.monotonic()
            time.sleep(window)
            used, elapsed = cpu_seconds(process.pid) - before, time.monotonic() - t0
            return 100 * used / elapsed, rss_mb(process.pid), elapsed
        finally:
            cluster.stop_all()


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
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--converge-resources", type=int, default=1000)
    options = parser.parse_args()
    idles = {
        keepalive: idle(options.idle_resources, options.window, keepalive) for keepalive in TIMINGS
    }
    applied, total = converge(options.converge_resources)
    table = Table(title="hactl agent on the embedded store")
    for column in ("measure", "value", "target"):
        table.add_column(column)
    for keepalive, (cpu, rss, elapsed) in idles.items():
        what = f"{options.idle_resources} resources monitored every 10s, keepalive {keepalive}"
        table.add_row(
            f"idle CPU, {what} ({elapsed:.0f}s window)", f"{cpu:.2f} % of a core", "≤ 2 %"
        )
        table.add_row(f"idle RSS, keepalive {keepalive}", f"{rss:.1f} MB", "≤ 80 MB")
    table.add_row(
        f"apply of {options.converge_resources} resources (3 agents running)",
        f"{applied:.2f} s",
        "",
    )
    table.add_row(f"apply → all {options.converge_resources} Started", f"{total:.2f} s", "≤ 15 s")
    Console().print(table)


if __name__ == "__main__":
    main()
