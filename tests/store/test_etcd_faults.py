"""Faults only a real etcd cluster has: members killed with SIGKILL and restarted, a lease
holder killed, history compacted under a watch.

Each test gets a fresh 3-member cluster (tests/etcd_cluster.py) and kills only processes
it started, by PID. Everything that waits has a deadline; nothing sleeps and hopes.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from reconciler.store import Compacted, EventType, LeaseLost, StoreUnavailable, WatchEvent
from reconciler.store.etcd import EtcdStore
from reconciler.store.url import open_store
from tests.etcd_cluster import EtcdCluster, require_etcd
from tests.store.test_contract import take
from tests.waiting import eventually

pytestmark = pytest.mark.etcd

HOLDER = Path(__file__).with_name("etcd_lease_holder.py")
ROOT = Path(__file__).resolve().parents[2]
SLOW = 20.0
"""Seconds for what involves elections, restarts or child processes on a busy 2-core box."""


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[EtcdCluster]:
    require_etcd()
    cluster = EtcdCluster(tmp_path / "etcd", size=3)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@asynccontextmanager
async def opened(url: str) -> AsyncIterator[EtcdStore]:
    store = open_store(url)
    assert isinstance(store, EtcdStore)
    try:
        yield store
    finally:
        await store.close()


async def follower_and_others(cluster: EtcdCluster) -> tuple[str, list[str]]:
    """A member that is not the leader, and the others. Killing a follower stops nothing
    else: a write through a follower to a leader killed meanwhile would hang until its
    deadline, which is the leader test's business, not a watch test's."""
    leader = await asyncio.to_thread(cluster.leader)
    follower = next(m.name for m in cluster.members if m.name != leader)
    return follower, [m.name for m in cluster.members if m.name != follower]


async def collect(events: AsyncIterator[WatchEvent], into: list[WatchEvent]) -> None:
    async for event in events:
        into.append(event)


def check_alive(task: asyncio.Task[None]) -> None:
    """Raise what ended a watch task that should still run (rather than time out later)."""
    if task.done():
        task.result()
        raise AssertionError("the watch ended")


class TestLeaderKilledDuringWrites:
    """kill -9 of the leader under a stream of writes: no acknowledged write is lost, none is
    applied twice, the client fails over, and a watch sees every write exactly once."""

    WRITERS, WRITES = 4, 60

    async def test_no_acknowledged_write_lost_none_applied_twice(
        self, cluster: EtcdCluster
    ) -> None:
        leader = await asyncio.to_thread(cluster.leader)
        order = [leader, *(m.name for m in cluster.members if m.name != leader)]
        acked: dict[str, int] = {}
        unknown: list[str] = []  # failed with StoreUnavailable: applied or not, never twice

        async with opened(cluster.url(*order)) as store, opened(cluster.url(*order)) as watcher:

            async def writer(number: int) -> None:
                for i in range(self.WRITES):
                    key = f"/w/{number}/{i:03}"
                    try:
                        acked[key] = await store.put(key, key.encode())
                    except StoreUnavailable:
                        unknown.append(key)

            seen: list[WatchEvent] = []
            watching = asyncio.create_task(
                collect(watcher.watch("/w/", start_revision=await store.revision() + 1), seen)
            )
            writing = asyncio.gather(*(writer(n) for n in range(self.WRITERS)))

            async def some_acknowledged() -> bool:
                return len(acked) >= 40

            await eventually(some_acknowledged, within=SLOW, what="40 writes")
            cluster.kill(leader)
            await asyncio.wait_for(writing, SLOW)
            assert store.endpoint != cluster.member(leader).endpoint
            assert await asyncio.to_thread(cluster.leader) != leader
            listed, revision = await store.range("/w/")

            async def watch_caught_up() -> bool:
                check_alive(watching)
                return bool(seen) and seen[-1].revision >= revision

            await eventually(watch_caught_up, within=SLOW, what="the watch caught up")
            watching.cancel()

        by_key = {kv.key: kv for kv in listed}
        assert {key: by_key[key].mod_revision for key in acked} == acked
        assert all(kv.version == 1 and kv.value == kv.key.encode() for kv in listed)
        assert set(by_key) <= set(acked) | set(unknown)
        # Unknown: a writer's write in flight at the kill, and its next one if a follower
        # forwarded it to the dead leader before noticing (it then times out).
        assert len(unknown) <= 2 * self.WRITERS
        in_order = sorted(listed, key=lambda kv: kv.mod_revision)
        assert [(e.type, e.key) for e in seen] == [(EventType.PUT, kv.key) for kv in in_order]


class TestWatchAcrossMemberRestart:
    """A watch whose only member dies and comes back resumes where it was: no event missed,
    none repeated, while writes went on through the other members."""

    async def test_resumes_without_gap_or_repeat(self, cluster: EtcdCluster) -> None:
        follower, others = await follower_and_others(cluster)
        async with (
            opened(cluster.url(follower, timeout="15s")) as watcher,
            opened(cluster.url(*others)) as writer,
        ):
            start = await writer.revision() + 1
            seen: list[WatchEvent] = []
            watching = asyncio.create_task(
                collect(watcher.watch("/r/", start_revision=start), seen)
            )

            async def write(numbers: range) -> None:
                for i in numbers:
                    await writer.put(f"/r/{i % 7}", str(i).encode())

            async def seen_all(count: int) -> None:
                async def enough() -> bool:
                    check_alive(watching)
                    return len(seen) >= count

                await eventually(enough, within=SLOW, what=f"{count} events")

            await write(range(10))
            await seen_all(10)
            cluster.kill(follower)
            await write(range(10, 20))
            await cluster.restarted(follower)
            await write(range(20, 30))
            await seen_all(30)
            await asyncio.sleep(0.3)  # room for a duplicate to show up, if there were one
            watching.cancel()
        assert [int(e.value) for e in seen] == list(range(30))
        assert [e.revision for e in seen] == list(range(start, start + 30))


class TestLeaseHolderKilled:
    """A lease kept alive from another process lasts while it lives and ends about one TTL
    after it is killed, deleting its key with an event."""

    TTL = 1.0

    async def test_expires_after_the_holder_is_killed(
        self, cluster: EtcdCluster, tmp_path: Path
    ) -> None:
        stderr = tmp_path / "holder.stderr"
        with stderr.open("wb") as sink:
            holder = await asyncio.create_subprocess_exec(
                sys.executable, str(HOLDER), cluster.url(), "/lease/holder", str(self.TTL),
                stdout=asyncio.subprocess.PIPE, stderr=sink, stdin=asyncio.subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )  # fmt: skip
        try:
            assert holder.stdout is not None
            line = await asyncio.wait_for(holder.stdout.readline(), SLOW)
            assert line, stderr.read_text()
            started = json.loads(line)
            async with opened(cluster.url()) as store:
                seen: list[WatchEvent] = []
                events = store.watch("/lease/", start_revision=started["revision"] + 1)
                watching = asyncio.create_task(collect(events, seen))
                await asyncio.sleep(3 * self.TTL)  # three TTLs of refreshes from the holder
                assert seen == []
                kv = await store.get("/lease/holder")
                assert kv is not None and kv.lease == started["lease"]
                holder.kill()  # SIGKILL to the holder's PID
                killed = time.monotonic()

                async def deleted() -> bool:
                    check_alive(watching)
                    return bool(seen)

                await eventually(deleted, within=SLOW, what="the key deleted")
                elapsed = time.monotonic() - killed
                watching.cancel()
                assert [(e.type, e.key) for e in seen] == [(EventType.DELETE, "/lease/holder")]
                # Refreshed every TTL/4, so not before 3/4 TTL; etcd looks every 0.5 s.
                assert 0.5 * self.TTL <= elapsed <= self.TTL + 2.5
                with pytest.raises(LeaseLost):
                    await store.refresh_lease(started["lease"])
        finally:
            if holder.returncode is None:
                holder.kill()
            await holder.wait()


class TestCompactionUnderAWatch:
    """Compacting the past leaves a live watch alone; a watch that must resume from
    compacted history raises Compacted, and its consumer re-lists and goes on."""

    async def test_a_live_watch_is_not_disturbed(self, cluster: EtcdCluster) -> None:
        async with opened(cluster.url()) as store:
            start = await store.revision() + 1
            events = store.watch("/c/", start_revision=start)
            for i in range(5):
                await store.put("/c/k", str(i).encode())
            first = await take(events, 5)
            await store.compact(await store.revision())
            for i in range(5, 10):
                await store.put("/c/k", str(i).encode())
            rest = await take(events, 5)
            await events.aclose()  # type: ignore[attr-defined]
        assert [int(e.value) for e in first + rest] == list(range(10))

    async def test_a_resumed_watch_raises_compacted_and_a_relist_recovers(
        self, cluster: EtcdCluster
    ) -> None:
        follower, others = await follower_and_others(cluster)
        async with (
            opened(cluster.url(follower, timeout="15s")) as watcher,
            opened(cluster.url(*others)) as writer,
        ):
            start = await writer.revision() + 1
            events = watcher.watch("/c/", start_revision=start)
            for i in range(3):
                await writer.put(f"/c/{i}", b"old")
            delivered = await take(events, 3)
            cluster.kill(follower)
            for i in range(3, 6):
                await writer.put(f"/c/{i}", b"new")
            compacted_to = await writer.revision()
            await writer.compact(compacted_to)
            await cluster.restarted(follower)
            with pytest.raises(Compacted) as raised:
                await asyncio.wait_for(anext(events), SLOW)
            assert raised.value.requested == delivered[-1].revision + 1
            assert raised.value.compact_revision == compacted_to
            listed, revision = await watcher.range("/c/")  # the consumer re-lists …
            assert [kv.key for kv in listed] == [f"/c/{i}" for i in range(6)]
            events = watcher.watch("/c/", start_revision=revision + 1)  # … and watches on
            await writer.put("/c/6", b"after")
            [after] = await take(events, 1, within=SLOW)
            await events.aclose()  # type: ignore[attr-defined]
        assert (after.key, after.revision) == ("/c/6", revision + 1)
