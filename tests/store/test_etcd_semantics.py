"""Where etcd differs from the contract, the etcd store still keeps the contract."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reconciler.store import Compare, EventType, Put, Store, open_store
from tests.etcd_cluster import EtcdCluster
from tests.store.conftest import BACKENDS
from tests.store.test_contract import take

pytestmark = pytest.mark.etcd


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with BACKENDS["etcd"].open(tmp_path) as opened:
        yield opened


class TestDifferences:
    """Revision 0, whole-second TTLs, repeated compaction, big ranges, absent values."""

    async def test_a_watch_from_revision_0_replays_history(self, tmp_path: Path) -> None:
        cluster = EtcdCluster(tmp_path / "fresh")  # the shared member's history is compacted
        cluster.start()
        store = open_store(cluster.url())
        try:
            await store.put("/zero/a", b"1")
            await store.delete("/zero/a")
            events = store.watch("/zero/", start_revision=0)  # etcd alone: "from now"
            replayed = await take(events, 2)
            await events.aclose()  # type: ignore[attr-defined]
        finally:
            await store.close()
            cluster.stop()
        assert [(e.type, e.key) for e in replayed] == [
            (EventType.PUT, "/zero/a"),
            (EventType.DELETE, "/zero/a"),
        ]

    @pytest.mark.parametrize(("asked", "granted"), [(0.3, 1.0), (1.0, 1.0), (1.5, 2.0)])
    async def test_ttls_are_rounded_up_to_whole_seconds(
        self, store: Store, asked: float, granted: float
    ) -> None:
        lease = await store.grant_lease(asked)
        assert await store.refresh_lease(lease) == granted
        assert await store.lease_ttl(lease) <= granted

    async def test_compacting_again_or_to_an_older_revision_does_nothing(
        self, store: Store
    ) -> None:
        for i in range(3):
            await store.put("/k", str(i).encode())
        revision = await store.revision()
        await store.compact(revision)
        await store.compact(revision)
        await store.compact(revision - 1)
        assert await store.revision() == revision

    async def test_a_range_larger_than_a_page_is_one_consistent_read(self, store: Store) -> None:
        keys = [f"/many/{i:04}" for i in range(600)]
        for start in range(0, len(keys), 100):  # 100 puts per transaction, under etcd's 128
            await store.txn([], [Put(key, b"v") for key in keys[start : start + 100]])
        listed, revision = await store.range("/many/")
        assert [kv.key for kv in listed] == keys
        assert revision == await store.revision()

    async def test_a_value_compare_on_an_absent_key_sees_the_empty_value(
        self, store: Store
    ) -> None:
        both_absent = [Compare.value_is("/a", b""), Compare("/b", "value", "<", b"x")]
        assert (await store.txn(both_absent, [Put("/c", b"")])).succeeded
        await store.put("/a", b"")  # present, and empty: still equal to b''
        await store.put("/b", b"y")  # present, and not < b'x'
        assert (await store.txn(both_absent[:1], [])).succeeded
        assert not (await store.txn(both_absent, [])).succeeded
