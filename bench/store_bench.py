"""Benchmark: the store backends side by side on the same work, in one run.

- apply of 1,000 resources through `declared_store.apply_declared` (snapshot chunks plus
  the two-key generation transaction), into a fresh, empty store each time;
- watch latency: from sending a put to receiving its event on an open watch, the put
  made by the watching process itself, and by another process (a writer started here,
  putting its CLOCK_MONOTONIC send time at random intervals of 10 to 40 ms: that is how
  node agents see each other's writes);
- lease keepalive round trip: one `refresh_lease`.

Backends: memory, SQLite (a file in a temporary directory) with inotify change
notification and with the stat polling it falls back to (HACTL_SQLITE_WATCH=poll), and
real etcd processes started here on free loopback ports (1 member, and 3 members),
killed at the end. Prints the medians in one table, and the cross-process latency's
95th percentile and maximum.

    .venv/bin/python bench/store_bench.py [--resources 1000] [--repeat 5] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests.etcd_cluster starts the etcd members

from apply_bench import write_manifests  # noqa: E402

from reconciler.declared_store import apply_declared  # noqa: E402
from reconciler.loader import LintContext, load_report  # noqa: E402
from reconciler.logs import configure  # noqa: E402
from reconciler.model.declared import DeclaredState  # noqa: E402
from reconciler.store import MemoryStore, SqliteStore, Store, open_store  # noqa: E402
from reconciler.store.sqlite_watch import WATCH_ENV  # noqa: E402
from tests.etcd_cluster import EtcdCluster, wipe  # noqa: E402

Opener = Callable[[], AbstractAsyncContextManager[Store]]
CROSS_WARMUP = 5
"""Cross-process samples dropped at the start (the writer's first puts open its store)."""


@contextmanager
def watch_mode(mode: str) -> Iterator[None]:
    """HACTL_SQLITE_WATCH while a store is constructed (it reads it then)."""
    os.environ[WATCH_ENV] = mode
    try:
        yield
    finally:
        del os.environ[WATCH_ENV]


def openers(directory: Path, clusters: dict[str, EtcdCluster]) -> dict[str, Opener]:
    """For each backend, a way to open a fresh, empty store (and close it afterwards)."""
    runs = iter(range(1_000_000))

    @asynccontextmanager
    async def memory() -> AsyncIterator[Store]:
        store = MemoryStore()
        yield store
        await store.close()

    def sqlite(mode: str) -> Opener:
        @asynccontextmanager
        async def opened() -> AsyncIterator[Store]:
            with watch_mode(mode):
                store = SqliteStore(directory / f"store{next(runs)}.db")
            yield store
            await store.close()

        return opened

    def etcd(cluster: EtcdCluster) -> Opener:
        @asynccontextmanager
        async def opened() -> AsyncIterator[Store]:
            await wipe(cluster)
            store = open_store(cluster.url())
            yield store
            await store.close()

        return opened

    return {"memory": memory, "sqlite": sqlite("inotify"), "sqlite (poll)": sqlite("poll")} | {
        name: etcd(cluster) for name, cluster in clusters.items()
    }


def url_of(store: Store, clusters: dict[str, EtcdCluster], name: str) -> str | None:
    """How another process opens the same store (None: it cannot, a memory store)."""
    if isinstance(store, SqliteStore):
        return f"sqlite://{store.path}"
    return clusters[name].url() if name in clusters else None


async def apply_seconds(opener: Opener, desired: DeclaredState) -> float:
    async with opener() as store:
        started = time.perf_counter()
        await apply_declared(
            store, "bench", desired, prune=False, dry_run=False, by="bench", source={}
        )
        return time.perf_counter() - started


async def watch_latencies(opener: Opener, samples: int) -> list[float]:
    async with opener() as store:
        events = store.watch("/bench/w/", start_revision=await store.revision() + 1)
        latencies = []
        for i in range(samples):
            started = time.perf_counter()
            await store.put(f"/bench/w/{i % 10}", b"x" * 100)
            await anext(events)
            latencies.append(time.perf_counter() - started)
        await events.aclose()  # type: ignore[attr-defined]
        return latencies


async def cross_process_latencies(
    opener: Opener, samples: int, url: Callable[[Store], str | None]
) -> list[float]:
    """Put (by a writer process) → event here; [] for a store no other process can open."""
    async with opener() as store:
        if (address := url(store)) is None:
            return []
        events = store.watch("/bench/x/", start_revision=await store.revision() + 1)
        writer = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--writer", address, str(samples + CROSS_WARMUP)
        )
        try:
            latencies = []
            for _ in range(samples + CROSS_WARMUP):
                event = await asyncio.wait_for(anext(events), 30)
                latencies.append(time.monotonic() - float(event.value))
            assert await asyncio.wait_for(writer.wait(), 30) == 0
        finally:
            if writer.returncode is None:
                writer.kill()  # by its PID
                await writer.wait()
            await events.aclose()  # type: ignore[attr-defined]
        return latencies[CROSS_WARMUP:]


async def write_stamps(url: str, count: int) -> None:
    """The writer process: `count` puts of their send time, at random intervals."""
    store = open_store(url)
    try:
        await store.revision()  # opened before the first stamp is taken
        for i in range(count):
            await asyncio.sleep(random.uniform(0.01, 0.04))
            await store.put(f"/bench/x/{i % 10}", repr(time.monotonic()).encode())
    finally:
        await store.close()


async def keepalive_latencies(opener: Opener, samples: int) -> list[float]:
    async with opener() as store:
        lease = await store.grant_lease(30)
        latencies = []
        for _ in range(samples):
            started = time.perf_counter()
            await store.refresh_lease(lease)
            latencies.append(time.perf_counter() - started)
        await store.revoke_lease(lease)
        return latencies


async def measure(
    backends: dict[str, Opener],
    clusters: dict[str, EtcdCluster],
    desired: DeclaredState,
    repeat: int,
    samples: int,
) -> dict[str, dict[str, float | None]]:
    """Median seconds per work item and backend (None: does not apply)."""
    results: dict[str, dict[str, float | None]] = {}
    for name, opener in backends.items():
        applies = [await apply_seconds(opener, desired) for _ in range(repeat)]
        cross = await cross_process_latencies(
            opener, samples, lambda store, name=name: url_of(store, clusters, name)
        )
        cross.sort()
        results[name] = {
            "apply": statistics.median(applies),
            "watch": statistics.median(await watch_latencies(opener, samples)),
            "cross": statistics.median(cross) if cross else None,
            "cross95": cross[int(0.95 * (len(cross) - 1))] if cross else None,
            "crossmax": cross[-1] if cross else None,
            "keepalive": statistics.median(await keepalive_latencies(opener, samples)),
        }
        print(f"measured {name}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="applies per backend")
    parser.add_argument("--samples", type=int, default=200, help="puts and refreshes")
    parser.add_argument("--writer", nargs=2, help=argparse.SUPPRESS)  # URL COUNT: the writer
    options = parser.parse_args()
    configure("warning")
    if options.writer:
        asyncio.run(write_stamps(options.writer[0], int(options.writer[1])))
        return
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "m").mkdir()
        write_manifests(directory / "m", options.resources)
        desired = load_report([str(directory / "m")], context=LintContext(None)).declared()
        clusters = {
            "etcd 1 member": EtcdCluster(directory / "etcd1"),
            "etcd 3 members": EtcdCluster(directory / "etcd3", size=3),
        }
        try:
            for cluster in clusters.values():
                cluster.start()
            backends = openers(directory, clusters)
            results = asyncio.run(
                measure(backends, clusters, desired, options.repeat, options.samples)
            )
        finally:
            for cluster in clusters.values():
                cluster.stop()
    table = Table(
        title=f"Store backends, same work, medians (apply: {options.resources} resources, "
        f"{options.repeat} runs; watch and keepalive: {options.samples} samples)"
    )
    table.add_column("work")
    for name in results:
        table.add_column(name, justify="right")
    rows = [
        (f"apply {options.resources:,} resources (s)", "apply", 1.0, "{:.3f}"),
        ("watch put→event, same process (ms)", "watch", 1000.0, "{:.2f}"),
        ("watch put→event, other process (ms)", "cross", 1000.0, "{:.2f}"),
        ("  95th percentile (ms)", "cross95", 1000.0, "{:.2f}"),
        ("  maximum (ms)", "crossmax", 1000.0, "{:.2f}"),
        ("lease keepalive (ms)", "keepalive", 1000.0, "{:.2f}"),
    ]
    for label, key, scale, form in rows:
        cells = (r[key] for r in results.values())
        table.add_row(label, *("—" if v is None else form.format(v * scale) for v in cells))
    Console().print(table)


if __name__ == "__main__":
    main()
