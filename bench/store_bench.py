"""Benchmark: the store backends side by side on the same work, in one run.

- apply of 1,000 resources through `declared_store.apply_declared` (snapshot chunks plus
  the two-key generation transaction), into a fresh, empty store each time;
- watch latency: from sending a put to receiving its event on an open watch;
- lease keepalive round trip: one `refresh_lease`.

Backends: memory, SQLite (a file in a temporary directory), and real etcd processes
started here on free loopback ports (1 member, and 3 members), killed at the end.
Prints the medians in one table.

    .venv/bin/python bench/store_bench.py [--resources 1000] [--repeat 5] [--samples 200]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
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
from tests.etcd_cluster import EtcdCluster, wipe  # noqa: E402

Opener = Callable[[], AbstractAsyncContextManager[Store]]


def openers(directory: Path, clusters: dict[str, EtcdCluster]) -> dict[str, Opener]:
    """For each backend, a way to open a fresh, empty store (and close it afterwards)."""
    runs = iter(range(1_000_000))

    @asynccontextmanager
    async def memory() -> AsyncIterator[Store]:
        store = MemoryStore()
        yield store
        await store.close()

    @asynccontextmanager
    async def sqlite() -> AsyncIterator[Store]:
        store = SqliteStore(directory / f"store{next(runs)}.db")
        yield store
        await store.close()

    def etcd(cluster: EtcdCluster) -> Opener:
        @asynccontextmanager
        async def opened() -> AsyncIterator[Store]:
            await wipe(cluster)
            store = open_store(cluster.url())
            yield store
            await store.close()

        return opened

    return {"memory": memory, "sqlite": sqlite} | {
        name: etcd(cluster) for name, cluster in clusters.items()
    }


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
    backends: dict[str, Opener], desired: DeclaredState, repeat: int, samples: int
) -> dict[str, dict[str, float]]:
    """Median seconds per work item and backend."""
    results: dict[str, dict[str, float]] = {}
    for name, opener in backends.items():
        applies = [await apply_seconds(opener, desired) for _ in range(repeat)]
        results[name] = {
            "apply": statistics.median(applies),
            "watch": statistics.median(await watch_latencies(opener, samples)),
            "keepalive": statistics.median(await keepalive_latencies(opener, samples)),
        }
        print(f"measured {name}", file=sys.stderr)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="applies per backend")
    parser.add_argument("--samples", type=int, default=200, help="puts and refreshes")
    options = parser.parse_args()
    configure("warning")
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
            results = asyncio.run(
                measure(openers(directory, clusters), desired, options.repeat, options.samples)
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
        ("watch put→event (ms)", "watch", 1000.0, "{:.2f}"),
        ("lease keepalive (ms)", "keepalive", 1000.0, "{:.2f}"),
    ]
    for label, key, scale, form in rows:
        table.add_row(label, *(form.format(r[key] * scale) for r in results.values()))
    Console().print(table)


if __name__ == "__main__":
    main()
