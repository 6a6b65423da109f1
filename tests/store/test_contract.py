"""The store contract (reconciler/store/base.py), run against every backend in conftest.

Only the Store interface is used here, so a new backend passes this file unchanged or is
not a store. Revisions are counted from `r0`, the store's revision when the test starts,
so a backend may hand out a store whose revision does not start at 0 (a shared etcd
under a fresh key namespace). Timing tests use the backend's short TTL and wait on
conditions with deadlines, never on sleeps.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace

import pytest

from reconciler.store import (
    Compacted,
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseLost,
    Put,
    Store,
    StoreError,
    StoreUnavailable,
    WatchEvent,
)

PUT, DELETE = EventType.PUT, EventType.DELETE
PROMPT = 5.0
"""Seconds within which anything that should happen now must have happened."""


@asynccontextmanager
async def watching(
    store: Store, prefix: str, start_revision: int
) -> AsyncIterator[AsyncIterator[WatchEvent]]:
    """A watch that is closed when the block ends, however it ends."""
    events = store.watch(prefix, start_revision=start_revision)
    try:
        yield events
    finally:
        aclose = getattr(events, "aclose", None)
        if aclose is not None:
            await aclose()


async def take(
    events: AsyncIterator[WatchEvent], count: int, within: float = PROMPT
) -> list[WatchEvent]:
    """The next `count` events, or a failure once `within` seconds have passed."""

    async def collect() -> list[WatchEvent]:
        return [await anext(events) for _ in range(count)]

    return await asyncio.wait_for(collect(), within)


async def nothing_more(events: AsyncIterator[WatchEvent], within: float = 0.2) -> None:
    """No further event arrives within `within` seconds (only after the expected ones)."""
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(anext(events), within)


def brief(events: list[WatchEvent]) -> list[tuple[EventType, str, bytes, int]]:
    return [(e.type, e.key, e.value, e.revision) for e in events]


class TestKeyValue:
    """Puts and deletes keep etcd's revision, create/mod revision and version bookkeeping."""

    async def test_a_fresh_store_holds_no_keys(self, store: Store, r0: int) -> None:
        assert isinstance(store, Store)
        assert r0 >= 0
        assert await store.get("/missing") is None
        assert await store.range("") == ([], r0)

    async def test_put_creates_then_updates(self, store: Store, r0: int) -> None:
        assert await store.put("/k", b"one") == r0 + 1
        assert await store.get("/k") == KeyValue("/k", b"one", r0 + 1, r0 + 1, 1, 0)
        assert await store.put("/k", b"two") == r0 + 2
        assert await store.get("/k") == KeyValue("/k", b"two", r0 + 1, r0 + 2, 2, 0)
        assert await store.revision() == r0 + 2

    async def test_every_put_advances_the_revision_even_with_the_same_value(
        self, store: Store, r0: int
    ) -> None:
        await store.put("/k", b"same")
        assert await store.put("/k", b"same") == r0 + 2
        kv = await store.get("/k")
        assert kv is not None and kv.version == 2

    async def test_delete_then_put_starts_a_new_life(self, store: Store, r0: int) -> None:
        await store.put("/k", b"v")
        await store.put("/k", b"v2")
        assert await store.delete("/k") == r0 + 3
        assert await store.get("/k") is None
        assert await store.put("/k", b"again") == r0 + 4
        kv = await store.get("/k")
        assert kv is not None
        assert (kv.create_revision, kv.mod_revision, kv.version) == (r0 + 4, r0 + 4, 1)

    async def test_deleting_nothing_keeps_the_revision(self, store: Store, r0: int) -> None:
        await store.put("/k", b"v")
        assert await store.delete("/absent") == r0 + 1
        assert await store.delete("/nothing/", prefix=True) == r0 + 1
        assert await store.revision() == r0 + 1

    async def test_values_are_bytes_kept_exactly(self, store: Store) -> None:
        binary = bytes(range(256)) * 4
        await store.put("/binary", binary)
        await store.put("/empty", b"")
        await store.put("/nul", b"\x00")
        assert (await store.get("/binary")).value == binary  # type: ignore[union-attr]
        empty = await store.get("/empty")
        assert empty is not None and empty.value == b""  # present, unlike an absent key
        assert (await store.get("/nul")).value == b"\x00"  # type: ignore[union-attr]

    async def test_a_one_mib_value_round_trips_through_get_and_watch(self, store: Store) -> None:
        big = random.Random(7).randbytes(1024 * 1024)
        async with watching(store, "/big", await store.revision() + 1) as events:
            revision = await store.put("/big", big)
            assert (await store.get("/big")).value == big  # type: ignore[union-attr]
            [event] = await take(events, 1)
        assert (event.value, event.revision) == (big, revision)

    async def test_unicode_keys_round_trip(self, store: Store) -> None:
        keys = ["/nodes/ñødé/a", "/nodes/日本/b", "/nodes/🚀/c", "/nodes/\U0010ffff/d"]
        for key in keys:
            await store.put(key, key.encode())
        for key in keys:
            assert (await store.get(key)).value == key.encode()  # type: ignore[union-attr]
        listed, _ = await store.range("/nodes/")
        assert [kv.key for kv in listed] == sorted(keys)


class TestRange:
    """Range returns exactly the keys under a prefix, sorted, with the revision read at."""

    async def test_prefix_isolation(self, store: Store) -> None:
        for key in ["/a", "/a/1", "/a/2/x", "/ab/1", "/b/1", "/a0"]:
            await store.put(key, b"")
        listed, _ = await store.range("/a/")
        assert [kv.key for kv in listed] == ["/a/1", "/a/2/x"]
        listed, _ = await store.range("/ab/")
        assert [kv.key for kv in listed] == ["/ab/1"]

    async def test_keys_come_sorted_by_code_point(self, store: Store) -> None:
        keys = ["/k/b", "/k/B", "/k/a", "/k/é", "/k/z", "/k/日", "/k/🚀", "/k/", "/k/a/b"]
        for key in random.Random(3).sample(keys, len(keys)):
            await store.put(key, b"")
        listed, _ = await store.range("/k/")
        assert [kv.key for kv in listed] == sorted(keys)

    async def test_the_empty_prefix_lists_everything(self, store: Store, r0: int) -> None:
        for key in ["/x", "/y/z", "\U0010ffff"]:
            await store.put(key, b"")
        listed, revision = await store.range("")
        assert [kv.key for kv in listed] == ["/x", "/y/z", "\U0010ffff"]
        assert revision == r0 + 3

    async def test_range_reports_the_revision_it_read_at(self, store: Store, r0: int) -> None:
        await store.put("/r/1", b"")
        await store.put("/other", b"")
        listed, revision = await store.range("/r/")
        assert len(listed) == 1
        assert revision == await store.revision() == r0 + 2

    async def test_delete_with_prefix_removes_only_that_subtree_at_one_revision(
        self, store: Store, r0: int
    ) -> None:
        for key in ["/a/1", "/a/2", "/a/3/x", "/ab/1"]:
            await store.put(key, b"")
        async with watching(store, "", r0 + 5) as events:
            assert await store.delete("/a/", prefix=True) == r0 + 5
            deleted = await take(events, 3)
        expected = [(DELETE, key, b"", r0 + 5) for key in ["/a/1", "/a/2", "/a/3/x"]]
        assert brief(deleted) == expected
        listed, _ = await store.range("")
        assert [kv.key for kv in listed] == ["/ab/1"]


class TestTxn:
    """Transactions compare, then apply one branch atomically at one new revision."""

    async def test_compare_on_mod_revision_guards_a_write(self, store: Store) -> None:
        revision = await store.put("/k", b"1")
        stale = await store.txn([Compare.unchanged("/k", revision - 1)], [Put("/k", b"x")])
        assert (stale.succeeded, stale.revision) == (False, revision)
        fresh = await store.txn([Compare.unchanged("/k", revision)], [Put("/k", b"2")])
        assert (fresh.succeeded, fresh.revision) == (True, revision + 1)
        assert (await store.get("/k")).value == b"2"  # type: ignore[union-attr]

    async def test_absent_and_unchanged_zero_mean_the_key_does_not_exist(
        self, store: Store
    ) -> None:
        created = await store.txn([Compare.absent("/lock")], [Put("/lock", b"me")])
        assert created.succeeded
        again = await store.txn([Compare.unchanged("/lock", 0)], [Put("/lock", b"you")])
        assert not again.succeeded
        assert (await store.get("/lock")).value == b"me"  # type: ignore[union-attr]

    @pytest.mark.parametrize(
        ("compare", "holds"),
        [
            (Compare("/k", "version", "==", 2), True),
            (Compare("/k", "version", ">", 2), False),
            (Compare("/k", "version", "<", 3), True),
            (Compare("/k", "create", "==", 1), True),  # create and mod: counted from r0
            (Compare("/k", "create", "!=", 1), False),
            (Compare("/k", "mod", ">", 1), True),
            (Compare("/k", "mod", "<", 2), False),
            (Compare("/k", "value", "==", b"v2"), True),
            (Compare("/k", "value", "!=", b"v2"), False),
            (Compare("/k", "value", "<", b"v3"), True),
            (Compare("/k", "value", ">", b"v3"), False),
            (Compare("/k", "lease", "==", 0), True),
            (Compare("/absent", "value", "==", b""), True),
            (Compare("/absent", "create", "==", 0), True),
            (Compare("/absent", "mod", "==", 0), True),
            (Compare("/absent", "lease", ">", 0), False),
        ],
    )
    async def test_compare_targets_and_operators(
        self, store: Store, r0: int, compare: Compare, holds: bool
    ) -> None:
        if compare.key == "/k" and compare.target in ("create", "mod"):
            compare = replace(compare, operand=r0 + int(compare.operand))
        await store.put("/k", b"v1")
        await store.put("/k", b"v2")
        result = await store.txn([compare], [Put("/yes", b"")], [Put("/no", b"")])
        assert result.succeeded is holds
        assert result.revision == r0 + 3
        assert (await store.get("/yes" if holds else "/no")) is not None
        assert (await store.get("/no" if holds else "/yes")) is None

    async def test_compare_on_lease(self, store: Store) -> None:
        lease = await store.grant_lease(30)
        await store.put("/owned", b"", lease=lease)
        assert (await store.txn([Compare("/owned", "lease", "==", lease)], [])).succeeded
        assert not (await store.txn([Compare("/owned", "lease", "==", lease + 1)], [])).succeeded

    async def test_all_compares_must_hold(self, store: Store) -> None:
        await store.put("/a", b"1")
        both = [Compare.value_is("/a", b"1"), Compare.absent("/b")]
        assert (await store.txn(both, [Put("/b", b"")])).succeeded
        assert not (await store.txn(both, [Put("/c", b"")])).succeeded
        assert await store.get("/c") is None

    async def test_the_failure_branch_runs_when_a_compare_fails(
        self, store: Store, r0: int
    ) -> None:
        await store.put("/k", b"v")
        result = await store.txn(
            [Compare.absent("/k")], [Put("/won", b"")], [Put("/lost", b""), Delete("/k")]
        )
        assert (result.succeeded, result.revision) == (False, r0 + 2)
        assert await store.get("/won") is None
        assert await store.get("/k") is None
        lost = await store.get("/lost")
        assert lost is not None and lost.mod_revision == r0 + 2

    async def test_all_writes_of_a_txn_share_one_revision_in_order(
        self, store: Store, r0: int
    ) -> None:
        await store.put("/t/gone", b"")
        async with watching(store, "/t/", r0 + 2) as events:
            result = await store.txn(
                [], [Put("/t/z", b"1"), Delete("/t/gone"), Put("/t/a", b"2"), Delete("/t/none")]
            )
            assert result.revision == r0 + 2
            assert brief(await take(events, 3)) == [
                (PUT, "/t/z", b"1", r0 + 2),
                (DELETE, "/t/gone", b"", r0 + 2),
                (PUT, "/t/a", b"2", r0 + 2),
            ]

    async def test_a_txn_that_writes_nothing_keeps_the_revision(
        self, store: Store, r0: int
    ) -> None:
        await store.put("/k", b"v")
        failed = await store.txn([Compare.absent("/k")], [Put("/x", b"")])
        assert (failed.succeeded, failed.revision) == (False, r0 + 1)
        nothing = await store.txn([], [Delete("/absent"), Delete("/none/", prefix=True)])
        assert (nothing.succeeded, nothing.revision) == (True, r0 + 1)
        assert (await store.txn([], [])).revision == r0 + 1
        assert await store.revision() == r0 + 1

    @pytest.mark.parametrize(
        "branch",
        [
            [Put("/k", b"1"), Put("/k", b"2")],
            [Put("/d/k", b""), Delete("/d/", prefix=True)],
            [Put("", b"")],
            [Put("/bad/\ud800", b"")],
        ],
    )
    async def test_a_malformed_branch_is_refused(
        self, store: Store, r0: int, branch: list[Put | Delete]
    ) -> None:
        with pytest.raises(ValueError):
            await store.txn([], branch)
        with pytest.raises(ValueError):
            await store.txn([], [], branch)  # even when it would not be taken
        assert await store.revision() == r0


class TestConcurrentCas:
    """Concurrent compare-and-set increments lose no update and never blind-retry."""

    async def test_no_lost_update(self, store: Store, r0: int) -> None:
        tasks, increments = 8, 10

        async def increment() -> int:
            conflicts = 0
            for _ in range(increments):
                while True:
                    kv = await store.get("/counter")
                    await asyncio.sleep(0)  # let the others interleave between read and write
                    value = int(kv.value) if kv else 0
                    expected = kv.mod_revision if kv else 0
                    result = await store.txn(
                        [Compare.unchanged("/counter", expected)],
                        [Put("/counter", str(value + 1).encode())],
                    )
                    if result.succeeded:
                        break
                    conflicts += 1
            return conflicts

        async with watching(store, "/counter", r0 + 1) as events:
            conflicts = await asyncio.gather(*(increment() for _ in range(tasks)))
            history = await take(events, tasks * increments)
        total = tasks * increments
        assert (await store.get("/counter")).value == str(total).encode()  # type: ignore[union-attr]
        assert [int(e.value) for e in history] == list(range(1, total + 1))
        assert sum(conflicts) > 0, "the tasks never contended; the test proves nothing"


class TestWatch:
    """Watches deliver every change under a prefix exactly once, in order, and resume."""

    async def test_replays_history_then_streams_live_events_without_gap(
        self, store: Store, r0: int
    ) -> None:
        for i in range(1, 6):
            await store.put(f"/w/{i}", str(i).encode())
        async with watching(store, "/w/", r0 + 3) as events:
            replayed = await take(events, 3)
            for i in range(6, 9):
                await store.put(f"/w/{i}", str(i).encode())
            await store.delete("/w/1")
            live = await take(events, 4)
            await nothing_more(events)
        assert brief(replayed) == [(PUT, f"/w/{i}", str(i).encode(), r0 + i) for i in (3, 4, 5)]
        assert brief(live) == [
            *((PUT, f"/w/{i}", str(i).encode(), r0 + i) for i in (6, 7, 8)),
            (DELETE, "/w/1", b"", r0 + 9),
        ]

    async def test_changes_racing_the_start_of_a_watch_are_not_lost(
        self, store: Store, r0: int
    ) -> None:
        async def writer() -> None:
            for i in range(20):
                await store.put(f"/race/{i:02}", b"")

        async with watching(store, "/race/", r0 + 1) as events:
            writing = asyncio.create_task(writer())
            seen = await take(events, 20)
            await writing
        assert [e.revision - r0 for e in seen] == list(range(1, 21))

    async def test_only_keys_under_the_prefix_are_seen(self, store: Store, r0: int) -> None:
        async with watching(store, "/a/", r0 + 1) as events:
            await store.put("/ab/1", b"")
            await store.put("/a", b"")
            await store.put("/a/1", b"")
            [event] = await take(events, 1)
            await nothing_more(events)
        assert (event.key, event.revision) == ("/a/1", r0 + 3)

    async def test_resumes_from_the_last_delivered_revision_plus_one(
        self, store: Store, r0: int
    ) -> None:
        for i in range(1, 5):
            await store.put("/r/k", str(i).encode())
        async with watching(store, "/r/", r0 + 1) as events:
            first = await take(events, 2)
        await store.put("/r/k", b"5")
        async with watching(store, "/r/", first[-1].revision + 1) as events:
            rest = await take(events, 3)
            await nothing_more(events)
        assert [e.value for e in first + rest] == [b"1", b"2", b"3", b"4", b"5"]

    async def test_a_far_behind_watch_crosses_long_unrelated_history(
        self, store: Store, r0: int
    ) -> None:
        for i in range(1, 601):
            await store.put("/far/k" if i in (1, 600) else "/near/k", str(i).encode())
        async with watching(store, "/far/", r0 + 1) as events:
            seen = await take(events, 2)
            await store.put("/far/k", b"live")
            [live] = await take(events, 1)
        assert [e.revision - r0 for e in seen] == [1, 600]
        assert (live.value, live.revision) == (b"live", r0 + 601)

    async def test_a_watch_from_the_future_waits_for_it(self, store: Store, r0: int) -> None:
        await store.put("/f/k", b"1")
        async with watching(store, "/f/", r0 + 3) as events:
            await store.put("/f/k", b"2")
            await store.put("/f/k", b"3")
            [event] = await take(events, 1)
        assert (event.value, event.revision) == (b"3", r0 + 3)

    async def test_concurrent_watchers_each_see_everything(self, store: Store, r0: int) -> None:
        async with watching(store, "/m/", r0 + 1) as one, watching(store, "/m/", r0 + 1) as two:
            for i in range(5):
                await store.put(f"/m/{i}", b"")
            assert brief(await take(one, 5)) == brief(await take(two, 5))

    async def test_a_compacted_start_raises_compacted(self, store: Store, r0: int) -> None:
        for i in range(5):
            await store.put("/c/k", str(i).encode())
        await store.compact(r0 + 4)
        async with watching(store, "/c/", r0 + 3) as events:
            with pytest.raises(Compacted) as raised:
                await asyncio.wait_for(anext(events), PROMPT)
        assert (raised.value.requested, raised.value.compact_revision) == (r0 + 3, r0 + 4)
        async with watching(store, "/c/", r0 + 4) as events:
            assert [e.revision - r0 for e in await take(events, 2)] == [4, 5]


class TestCompact:
    """Compaction forgets history only: current keys and revisions stay as they were."""

    async def test_compaction_keeps_the_current_state(self, store: Store, r0: int) -> None:
        await store.put("/k", b"1")
        await store.put("/k", b"2")
        await store.put("/j", b"1")
        await store.compact(r0 + 3)
        assert await store.get("/k") == KeyValue("/k", b"2", r0 + 1, r0 + 2, 2, 0)
        assert await store.revision() == r0 + 3
        assert await store.put("/k", b"3") == r0 + 4

    async def test_compacting_the_future_is_refused(self, store: Store, r0: int) -> None:
        await store.put("/k", b"")
        with pytest.raises(StoreError):
            await store.compact(r0 + 5)


class TestLeases:
    """Leases keep their keys while refreshed and delete them, with events, when they end."""

    async def test_grant_refresh_and_ttl(self, store: Store) -> None:
        first, second = await store.grant_lease(30), await store.grant_lease(30)
        assert 0 not in (first, second) and first != second
        assert 0 < await store.lease_ttl(first) <= 30
        assert await store.refresh_lease(first) == pytest.approx(30)

    async def test_a_non_positive_ttl_is_refused(self, store: Store) -> None:
        with pytest.raises(ValueError):
            await store.grant_lease(0)

    async def test_a_put_attaches_the_key_and_a_later_put_detaches_it(self, store: Store) -> None:
        lease = await store.grant_lease(30)
        await store.put("/owned", b"", lease=lease)
        await store.put("/freed", b"", lease=lease)
        await store.put("/freed", b"mine now")
        assert (await store.get("/owned")).lease == lease  # type: ignore[union-attr]
        assert (await store.get("/freed")).lease == 0  # type: ignore[union-attr]
        await store.revoke_lease(lease)
        assert await store.get("/owned") is None
        assert await store.get("/freed") is not None

    async def test_revoke_deletes_the_keys_at_one_revision_with_events(
        self, store: Store, r0: int
    ) -> None:
        lease = await store.grant_lease(30)
        await store.put("/l/b", b"", lease=lease)
        await store.put("/l/a", b"", lease=lease)
        async with watching(store, "/l/", r0 + 3) as events:
            await store.revoke_lease(lease)
            deleted = await take(events, 2)
        assert brief(deleted) == [(DELETE, "/l/a", b"", r0 + 3), (DELETE, "/l/b", b"", r0 + 3)]
        with pytest.raises(LeaseLost):
            await store.lease_ttl(lease)
        with pytest.raises(LeaseLost):
            await store.refresh_lease(lease)
        await store.revoke_lease(lease)  # revoking a lost lease is not an error

    async def test_revoking_a_lease_without_keys_writes_nothing(
        self, store: Store, r0: int
    ) -> None:
        await store.revoke_lease(await store.grant_lease(30))
        assert await store.revision() == r0

    async def test_an_unrefreshed_lease_expires_with_delete_events(
        self, store: Store, r0: int, ttl: float
    ) -> None:
        lease = await store.grant_lease(ttl)
        await store.put("/e/1", b"", lease=lease)
        await store.put("/e/2", b"", lease=lease)
        async with watching(store, "/e/", r0 + 3) as events:
            deleted = await take(events, 2, within=ttl + PROMPT)  # nobody else calls the store
        assert [(e.type, e.key) for e in deleted] == [(DELETE, "/e/1"), (DELETE, "/e/2")]
        assert deleted[0].revision == deleted[1].revision == r0 + 3
        assert await store.get("/e/1") is None
        with pytest.raises(LeaseLost):
            await store.refresh_lease(lease)
        with pytest.raises(LeaseLost):
            await store.put("/e/3", b"", lease=lease)
        with pytest.raises(LeaseLost):
            await store.lease_ttl(lease)

    async def test_a_refreshed_lease_outlives_its_ttl(self, store: Store, ttl: float) -> None:
        lease = await store.grant_lease(ttl)
        await store.put("/alive", b"", lease=lease)
        loop = asyncio.get_running_loop()
        until = loop.time() + 2 * ttl
        while loop.time() < until:
            await store.refresh_lease(lease)
            await asyncio.sleep(ttl / 6)
        assert await store.get("/alive") is not None

    async def test_writing_with_an_unknown_lease_raises_and_writes_nothing(
        self, store: Store, r0: int
    ) -> None:
        with pytest.raises(LeaseLost):
            await store.put("/k", b"", lease=987654321)
        with pytest.raises(LeaseLost):
            await store.txn([], [Put("/a", b""), Put("/b", b"", lease=987654321)])
        assert await store.revision() == r0
        assert await store.get("/a") is None

    async def test_only_the_branch_taken_needs_live_leases(self, store: Store) -> None:
        result = await store.txn(
            [Compare.absent("/k")], [Put("/k", b"")], [Put("/k", b"", lease=987654321)]
        )
        assert result.succeeded


class TestLifecycle:
    """A store reports its state, and once closed refuses calls and ends its watches."""

    async def test_status_reports_the_revision(self, store: Store, r0: int) -> None:
        await store.put("/k", b"")
        status = await store.status()
        assert status.backend
        assert status.revision == r0 + 1

    async def test_close_ends_watches_and_refuses_calls(self, store: Store) -> None:
        async with watching(store, "", await store.revision() + 1) as events:
            waiting = asyncio.ensure_future(anext(events))
            await asyncio.sleep(0.05)  # most likely waiting by now; either way it must end
            await store.close()
            with pytest.raises(StoreUnavailable):
                await asyncio.wait_for(waiting, PROMPT)
        with pytest.raises(StoreUnavailable):
            await store.get("/k")
        await store.close()  # closing twice is harmless
