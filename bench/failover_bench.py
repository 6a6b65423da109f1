"""Benchmark: kill -9 of the active node → the service answers on a survivor.

Three real agents with fence_process fencing and `deadtime: 1s`; the service is the
witness daemon (tests/witness_daemon.py), so "answers" is seen from outside the
cluster, as a client would. Each repetition kills the agent of the node serving, waits
for the service to answer on a survivor, restarts the killed agent and lets the service
fail back to its preferred node. Prints p50/p90/p99 per store backend, then where the
time goes: a watch on the cluster's keys timestamps every step of the failover as the
store records it (lease gone, fencing started and recorded, each start decided and
announced), and the witness log the first answer. The etcd members run with
--heartbeat-interval 10 --election-timeout 100 (tests/etcd_cluster.py), so etcd keeps
the 1 s TTL instead of raising it to its minimum of 1.5 election timeouts. `refenced`
counts restarts of n1 whose new agent died (was fenced again) before the service came
back to it; the bench then starts it once more.

    .venv/bin/python bench/failover_bench.py [--repetitions 50] [--backends sqlite,etcd]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from reconciler import keys  # noqa: E402
from reconciler.store.base import (  # noqa: E402
    EventType,
    StoreError,
    StoreUnavailable,
    WatchEvent,
)
from reconciler.store.url import open_store  # noqa: E402
from tests.faults.test_failover import MANIFESTS, WITNESS  # noqa: E402
from tests.harness import AgentCluster  # noqa: E402
from tests.waiting import wait_until  # noqa: E402
from tests.witness import overlaps  # noqa: E402

RECENT_NS = 50_000_000
SLOW_S = 2.5
"""A failover slower than this (SPEC §6's p99) gets its own timeline printed."""
LOST = "n1"
FIRST, LAST = "data", "service"
"""The group's members, in start order: the service is the witness."""

PHASES = (
    ("kill → lease gone", "killed", "lease_gone"),
    ("lease gone → fencing started", "lease_gone", "fence_started"),
    ("fencing started → recorded", "fence_started", "fenced"),
    (f"recorded → {FIRST} start decided", "fenced", f"decided_{FIRST}"),
    (f"{FIRST} decided → announced", f"decided_{FIRST}", f"announced_{FIRST}"),
    (f"{FIRST} announced → {LAST} decided", f"announced_{FIRST}", f"decided_{LAST}"),
    (f"{LAST} decided → announced", f"decided_{LAST}", f"announced_{LAST}"),
    (f"{LAST} announced → witness answers", f"announced_{LAST}", "answered"),
    ("kill → witness answers (total)", "killed", "answered"),
)


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


class WitnessTail:
    """Reads the witness log incrementally (the bench must not eat the CPU it measures)."""

    def __init__(self, log: Path) -> None:
        self._log = log
        self._offset = 0
        self._partial = b""
        self.seen: list[tuple[str, int]] = []

    def poll(self) -> None:
        if not self._log.exists():
            return
        with self._log.open("rb") as f:
            f.seek(self._offset)
            chunk = f.read()
        self._offset += len(chunk)
        data = self._partial + chunk
        *complete, self._partial = data.split(b"\n")
        for line in complete:
            parts = line.split()
            if len(parts) == 3 and parts[1].isdigit():
                self.seen.append((parts[0].decode(), int(parts[1])))

    def answering(self, since: int) -> set[str]:
        self.poll()
        found: set[str] = set()
        for node, at in reversed(self.seen):
            if at < since:
                break
            found.add(node)
        return found

    def first_after(self, since: int, *, besides: str) -> int | None:
        return next((at for node, at in self.seen if at >= since and node != besides), None)


@dataclass
class Timeline:
    """Every change under the cluster's prefix, stamped (monotonic ns) as a watch got it."""

    url: str
    cluster: str
    changes: list[tuple[int, EventType, str, bytes]] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Timeline:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._watch()), daemon=True)
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("the timeline's watch did not start")
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    async def _watch(self) -> None:
        prefix = keys.cluster_prefix(self.cluster)
        store = open_store(self.url)
        try:
            revision = (await store.range(prefix))[1]
            watch = store.watch(prefix, start_revision=revision + 1)
            self._ready.set()
            stopper = asyncio.create_task(asyncio.to_thread(self._stop.wait))
            async for change in _until(watch, stopper):
                self.changes.append((time.monotonic_ns(), change.type, change.key, change.value))
        except (StoreError, StoreUnavailable):
            pass
        finally:
            self._ready.set()
            await store.close()

    def marks(self, since: int) -> dict[str, int]:
        """The first time of each failover step after `since` (see PHASES)."""
        prefix = keys.cluster_prefix(self.cluster)
        found: dict[str, int] = {}

        def mark(name: str, at: int) -> None:
            found.setdefault(name, at)

        for at, kind, key, value in list(self.changes):
            if at < since:
                continue
            name = key[len(prefix) :]
            if kind is EventType.DELETE:
                if name == f"members/{LOST}":
                    mark("lease_gone", at)
                continue
            if name == f"fenced/{LOST}":
                mark("fenced", at)
            elif name.startswith("events/") and b"fence.started" in value:
                if json.loads(value).get("node") == LOST:
                    mark("fence_started", at)
            elif name.startswith("decisions/") and not name.endswith(f"/{LOST}"):
                steps = json.loads(value)["steps"]
                for resource in (FIRST, LAST):
                    if ["start", resource] in steps and "fenced" in found:
                        mark(f"decided_{resource}", at)
            elif name.startswith("observed/") and not name.startswith(f"observed/{LOST}/"):
                resource = name.rsplit("/", 1)[1]
                if resource in (FIRST, LAST) and json.loads(value).get("pending") == "start":
                    mark(f"announced_{resource}", at)
        return found


async def _until(
    watch: AsyncIterator[WatchEvent], stopper: asyncio.Task[bool]
) -> AsyncIterator[WatchEvent]:
    """The watch's changes until `stopper` is done (a store watch runs forever)."""
    iterator = aiter(watch)
    while True:
        step = asyncio.ensure_future(anext(iterator))
        done, _ = await asyncio.wait({step, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if stopper in done:
            step.cancel()
            return
        try:
            yield step.result()
        except StopAsyncIteration:
            return


@dataclass
class Result:
    samples: list[float] = field(default_factory=list)
    phases: dict[str, list[float]] = field(default_factory=dict)
    overlapping: int = 0
    refenced: int = 0
    """Restarts of n1 whose agent was killed again before the service came back to it."""
    slow: list[dict[str, int]] = field(default_factory=list)
    """The marks of each failover slower than SLOW_S, shown one by one."""


def serving_on_n1(tail: WitnessTail) -> bool:
    return tail.answering(time.monotonic_ns() - RECENT_NS) == {LOST}


def rejoin(cluster: AgentCluster, tail: WitnessTail) -> int:
    """Restart n1's agent and wait for the service to fail back to it. An agent that dies
    before (fenced again right after it joined) is counted and started once more.
    Returns how many times that happened."""
    deaths = 0
    cluster.start(LOST)
    deadline = time.monotonic() + 60
    while not serving_on_n1(tail):
        if time.monotonic() > deadline:
            raise AssertionError("the service did not fail back to n1 within 60s")
        if cluster.processes[LOST].poll() is not None:
            deaths += 1
            cluster.start(LOST)
        time.sleep(0.01)
    return deaths


def failover(cluster: AgentCluster, tail: WitnessTail, timeline: Timeline) -> dict[str, int]:
    """Kill the serving node's agent; the marks (monotonic ns) of its failover."""
    killed = time.monotonic_ns()
    cluster.signal(LOST, signal.SIGKILL)
    cluster.wait_exit(LOST, within=10)
    wait_until(lambda: bool(tail.answering(killed) - {LOST}), within=60, what="a survivor")
    answered = tail.first_after(killed, besides=LOST)
    assert answered is not None
    time.sleep(0.05)  # the watch's last changes are a few ms behind the witness
    return {**timeline.marks(killed), "killed": killed, "answered": answered}


@contextmanager
def workspace(keep: Path | None, backend: str) -> Iterator[Path]:
    """A temporary directory, or `keep/backend` (agent logs kept for a look afterwards)."""
    if keep is None:
        with tempfile.TemporaryDirectory() as tmp:
            yield Path(tmp)
        return
    workdir = keep / backend
    workdir.mkdir(parents=True)
    yield workdir


def run(backend: str, repetitions: int, keep: Path | None) -> Result:
    result = Result(phases={label: [] for label, _, _ in PHASES})
    with workspace(keep, backend) as workdir:
        log = workdir / "witness.log"
        tail = WitnessTail(log)
        with store_url(backend, workdir) as url:
            cluster = AgentCluster(workdir, store_url=url)
            text = (
                MANIFESTS.replace("WORK", str(workdir))
                .replace("PYTHON", sys.executable)
                .replace("WITNESS", str(WITNESS))
            )
            try:
                cluster.apply(text)
                with Timeline(url, cluster.cluster) as timeline:
                    for node in ("n1", "n2", "n3"):
                        cluster.start(node)
                    wait_until(lambda: serving_on_n1(tail), within=60, what="service on n1")
                    for _ in range(repetitions):
                        marks = failover(cluster, tail, timeline)
                        result.samples.append((marks["answered"] - marks["killed"]) / 1e9)
                        if result.samples[-1] > SLOW_S:
                            result.slow.append(marks)
                        for label, start, end in PHASES:
                            if start in marks and end in marks:
                                result.phases[label].append((marks[end] - marks[start]) / 1e9)
                        result.refenced += rejoin(cluster, tail)
            finally:
                cluster.stop_all()
            result.overlapping = len(overlaps(log))
    return result


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repetitions", type=int, default=50)
    parser.add_argument("--backends", default="sqlite,etcd")
    parser.add_argument("--keep", type=Path, help="a new directory to keep the logs in")
    options = parser.parse_args()
    backends = options.backends.split(",")
    results = {backend: run(backend, options.repetitions, options.keep) for backend in backends}

    table = Table(
        title=f"kill -9 → service answers on a survivor, deadtime 1s, "
        f"{options.repetitions} repetitions (witness, fence_process)"
    )
    for column in ("store", "p50 s", "p90 s", "p99 s", "max s", "overlaps", "refenced"):
        table.add_column(column, justify="right")
    for backend, result in results.items():
        samples = result.samples
        table.add_row(
            backend,
            f"{statistics.median(samples):.3f}",
            f"{percentile(samples, 90):.3f}",
            f"{percentile(samples, 99):.3f}",
            f"{max(samples):.3f}",
            str(result.overlapping),
            str(result.refenced),
        )
    breakdown = Table(title="where the time goes: median (p90) ms per phase, as the store saw it")
    breakdown.add_column("phase")
    for backend in backends:
        breakdown.add_column(backend, justify="right")
    for label, _, _ in PHASES:
        cells = []
        for backend in backends:
            values = results[backend].phases[label]
            cells.append(
                f"{statistics.median(values) * 1000:.0f} ({percentile(values, 90) * 1000:.0f})"
                if values
                else "-"
            )
        breakdown.add_row(label, *cells)
    console = Console()
    console.print(table)
    console.print(breakdown)
    for backend, result in results.items():
        for marks in result.slow:
            steps = sorted(marks.items(), key=lambda item: item[1])
            line = ", ".join(f"{name} +{(at - marks['killed']) / 1e6:.0f}" for name, at in steps)
            console.print(f"slow failover on {backend} (ms after the kill): {line}")


if __name__ == "__main__":
    main()
