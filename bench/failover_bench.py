"""Benchmark: kill -9 of the active node → the service answers on a survivor.

Three real agents with fence_process fencing and `deadtime: 1s`; the service is the
witness daemon (tests/witness_daemon.py), so "answers" is seen from outside the
cluster, as a client would. Each repetition kills the agent of the node serving, waits
for the service to answer on a survivor, restarts the killed agent and lets the service
fail back to its preferred node. Prints p50/p90/p99 per store backend.

    .venv/bin/python bench/failover_bench.py [--repetitions 50] [--backends sqlite,etcd]
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.faults.test_failover import MANIFESTS, WITNESS  # noqa: E402
from tests.harness import AgentCluster  # noqa: E402
from tests.waiting import wait_until  # noqa: E402
from tests.witness import overlaps, serving_since  # noqa: E402

RECENT_NS = 50_000_000


@contextmanager
def store_url(backend: str, workdir: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield f"sqlite://{workdir}/store.db"
        return
    from tests.etcd_cluster import EtcdCluster

    etcd = EtcdCluster(workdir / "etcd", size=3)
    etcd.start()
    try:
        yield etcd.url()
    finally:
        etcd.stop()


def answering(log: Path) -> set[str]:
    return serving_since(log, time.monotonic_ns() - RECENT_NS)


def run(backend: str, repetitions: int) -> tuple[list[float], int]:
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        log = workdir / "witness.log"
        with store_url(backend, workdir) as url:
            cluster = AgentCluster(workdir, store_url=url)
            text = (
                MANIFESTS.replace("WORK", str(workdir))
                .replace("PYTHON", sys.executable)
                .replace("WITNESS", str(WITNESS))
            )
            samples: list[float] = []
            try:
                cluster.apply(text)
                for node in ("n1", "n2", "n3"):
                    cluster.start(node)
                for _ in range(repetitions):
                    wait_until(lambda: answering(log) == {"n1"}, within=60, what="service on n1")
                    killed_at = time.monotonic_ns()
                    cluster.signal("n1", signal.SIGKILL)
                    cluster.wait_exit("n1", within=10)
                    wait_until(
                        lambda since=killed_at: bool(serving_since(log, since) - {"n1"}),
                        within=60,
                        what="service on a survivor",
                    )
                    first = min(at for node, at in _lines_after(log, killed_at) if node != "n1")
                    samples.append((first - killed_at) / 1e9)
                    cluster.start("n1")
            finally:
                cluster.stop_all()
            return samples, len(overlaps(log))


def _lines_after(log: Path, since: int) -> Iterator[tuple[str, int]]:
    from tests.witness import lines

    for node, at, _ in lines(log):
        if at >= since:
            yield node, at


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,etcd")
    options = parser.parse_args()
    table = Table(
        title=f"kill -9 → service answers on a survivor, deadtime 1s, "
        f"{options.repetitions} repetitions (witness, fence_process)"
    )
    for column in ("store", "p50 s", "p90 s", "p99 s", "max s", "overlaps"):
        table.add_column(column, justify="right")
    for backend in options.backends.split(","):
        samples, overlapping = run(backend, options.repetitions)
        table.add_row(
            backend,
            f"{statistics.median(samples):.3f}",
            f"{percentile(samples, 90):.3f}",
            f"{percentile(samples, 99):.3f}",
            f"{max(samples):.3f}",
            str(overlapping),
        )
    Console().print(table)


if __name__ == "__main__":
    main()
