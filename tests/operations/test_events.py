"""The event stream: per-writer rings kept in the store, in the store's order, bounded."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from reconciler import events as events_module
from reconciler.events import EventLog, membership_changes, read_events
from reconciler.store import MemoryStore, Store
from reconciler.store.base import StoreUnavailable
from tests.cli.conftest import Hactl, hactl
from tests.operations.test_cli import MANIFESTS

__all__ = ["hactl"]


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    memory = MemoryStore()
    try:
        yield memory
    finally:
        await memory.close()


class TestRing:
    """Each writer overwrites its oldest slot: the history is bounded, the order kept."""

    async def test_order_across_writers(self, store: Store) -> None:
        node, leader = (
            EventLog(store, cluster="c", writer="n1/node"),
            EventLog(store, cluster="c", writer="n2/leader"),
        )
        await node.emit("action.start", "start x on n1: ok", resource="x")
        await leader.emit("member.lost", "n3 was lost", node="n3", ok=False)
        await node.emit("action.stop", "stop x on n1: ok", resource="x")
        kept, _ = await read_events(store, "c")
        assert [e.kind for e in kept] == ["action.start", "member.lost", "action.stop"]
        assert [e.seq for e in kept] == [0, 0, 1] and kept[1].ok is False

    async def test_concurrent_events_are_group_committed(self, store: Store) -> None:
        log = EventLog(store, cluster="c", writer="n1/node")
        before = await store.revision()
        await asyncio.gather(*(log.emit("action.start", f"start r{i}") for i in range(100)))
        kept, _ = await read_events(store, "c")
        assert [e.seq for e in kept] == list(range(100))
        assert [e.message for e in kept] == [f"start r{i}" for i in range(100)]
        assert await store.revision() - before <= 5  # a few transactions, not 100

    async def test_bounded(self, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(events_module, "RING", 4)
        log = EventLog(store, cluster="c", writer="n1/node")
        for i in range(10):
            await log.emit("action.start", f"event {i}")
        kept, _ = await read_events(store, "c")
        assert [e.message for e in kept] == [f"event {i}" for i in range(6, 10)]

    async def test_a_restarted_writer_continues(
        self, store: Store, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(events_module, "RING", 4)
        for run in range(3):  # three runs of an agent, two events each
            log = EventLog(store, cluster="c", writer="n1/node")
            for i in range(2):
                await log.emit("action.start", f"run {run} event {i}")
        kept, _ = await read_events(store, "c")
        assert [e.seq for e in kept] == [2, 3, 4, 5]
        assert kept[-1].message == "run 2 event 1"

    async def test_two_operators_share_a_ring(self, store: Store) -> None:
        first = EventLog(store, cluster="c", writer="operator")
        second = EventLog(store, cluster="c", writer="operator")
        await first.emit("intent.recorded", "one")
        await second.emit("intent.recorded", "two")  # its view of the ring is stale
        await first.emit("intent.recorded", "three")
        kept, _ = await read_events(store, "c")
        assert [e.message for e in kept] == ["one", "two", "three"]
        assert [e.seq for e in kept] == [0, 1, 2]

    async def test_a_failed_write_is_dropped_not_raised(self) -> None:
        class Down(MemoryStore):
            async def range(self, prefix: str) -> tuple[list, int]:  # type: ignore[type-arg]
                raise StoreUnavailable("store down")

        down = Down()
        await EventLog(down, cluster="c", writer="n1/node").emit("action.start", "x")
        await down.close()


class TestMembershipChanges:
    """A node's membership state changing is one event; fencing is reported elsewhere."""

    def test_changes(self) -> None:
        before = {"n1": "online", "n2": "online", "n3": "absent"}
        after = {"n1": "lost", "n2": "left", "n3": "online"}
        assert membership_changes(before, after) == [
            ("member.lost", "n1", "n1 was lost (its lease expired without a clean shutdown)"),
            ("member.left", "n2", "n2 left cleanly"),
            ("member.joined", "n3", "n3 joined"),
        ]
        assert membership_changes(after, after) == []
        assert membership_changes({"n1": "lost"}, {"n1": "fenced"}) == []


class TestCommand:
    """`hactl events` prints the kept stream; operator intents are in it."""

    def test_intents_show_up(self, hactl: Hactl) -> None:
        path: Path = hactl.write("cluster.yaml", MANIFESTS)
        hactl("apply", "-f", str(path))
        hactl("node", "standby", "n1")
        hactl("resource", "move", "web", "--to", "n1", "--for", "10m")
        hactl("node", "online", "n1")
        text = hactl("events").output
        assert "intent.recorded" in text and "node n1 standby" in text
        assert "move web to n1 until" in text and "intent.removed" in text
        lines = hactl("events", "-o", "json", "-n", "1").output.splitlines()
        (last,) = [json.loads(line) for line in lines]
        assert last["kind"] == "intent.removed" and last["writer"] == "operator"

    @pytest.mark.parametrize("args", [("-n", "-1"), ("-o", "yaml")])
    def test_refused(self, hactl: Hactl, args: tuple[str, ...]) -> None:
        assert hactl("events", *args).exit_code == 2
