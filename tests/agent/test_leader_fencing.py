"""The leader's choice between FenceDevices and the watchdog, on a memory store.

A fake device fencer (the runner and real drivers are tested in tests/fencing) and a
real watchdogTimeout wait, kept short."""

from __future__ import annotations

import asyncio
import json

import pytest

from reconciler import keys
from reconciler.agent.fence_history import FenceEntry, read_history
from reconciler.agent.fencer import FenceResult
from reconciler.agent.leader_fencing import LeaderFencing
from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords
from reconciler.agent.poison import PoisonPill
from reconciler.agent.records import FenceRecord, Incarnation
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Cluster, FenceDevice, Node
from reconciler.store import MemoryStore, Store
from reconciler.store.base import Compare, Put
from tests.waiting import eventually

CLUSTER = "c"
WATCHDOG = 0.3
N1 = Incarnation("i-n1", 0.0, WATCHDOG / 2)
"""n1's agent runs a watchdog that fires after WATCHDOG/2."""


class FakeElection:
    def __init__(self, store: Store) -> None:
        self._store = store
        self.token: int | None = None

    async def win(self) -> None:
        body = json.dumps({"node": "n2", "incarnation": "i-n2"}).encode()
        self.token = (await self._store.txn([], [Put(keys.leader(CLUSTER), body)])).revision

    def guard(self) -> Compare:
        assert self.token is not None
        return Compare(keys.leader(CLUSTER), "create", "==", self.token)


class Devices:
    """Answers like DeviceFencer: succeeds or fails, with one history entry."""

    def __init__(self, succeed: bool) -> None:
        self.succeed = succeed
        self.calls = 0

    async def fence(self, node: str, *, incarnation: str, **_: object) -> FenceResult:
        self.calls += 1
        outcome = "success" if self.succeed else "failed"
        entry = FenceEntry(node, "ipmi", 1, "reboot", outcome, "exit code 1", "n2", incarnation)
        record = FenceRecord(incarnation, 1.0, "ipmi", "reboot", "n2") if self.succeed else None
        return FenceResult(record, (entry,))


def declared(*, devices: bool, watchdog: float) -> DeclaredState:
    docs: list[object] = [
        Cluster.model_validate(
            {
                "metadata": {"name": CLUSTER},
                "spec": {"stonith": {"enabled": True, "watchdogTimeout": f"{watchdog}s"}},
            }
        ),
        *(Node.model_validate({"metadata": {"name": n}}) for n in ("n1", "n2")),
    ]
    if devices:
        docs.append(
            FenceDevice.model_validate(
                {"metadata": {"name": "ipmi"}, "spec": {"driver": "fence_ipmilan", "nodes": ["n1"]}}
            )
        )
    return DeclaredState.of(docs)  # type: ignore[arg-type]


def records(*, n1_member: bool) -> RuntimeRecords:
    members = {"n2": MemberInfo("n2", "i-n2", 1, "h")}
    if n1_member:
        members["n1"] = MemberInfo("n1", "i-n1", 2, "h")
    incarnations = {"n1": N1, "n2": Incarnation("i-n2", 0.0, WATCHDOG / 2)}
    return RuntimeRecords(members=members, incarnations=incarnations)


async def fencing_of(store: Store, fencer: Devices) -> LeaderFencing:
    election = FakeElection(store)
    await election.win()
    return LeaderFencing(
        store,
        cluster=CLUSTER,
        node="n2",
        election=election,  # type: ignore[arg-type]
        fencer=fencer,
        events=EventLog(store, cluster=CLUSTER, writer="n2/leader"),
        wall=lambda: 5.0,
    )


async def fenced(store: Store) -> FenceRecord | None:
    kv = await store.get(keys.fenced(CLUSTER, "n1"))
    return FenceRecord.from_json(kv.value) if kv else None


@pytest.fixture
async def store() -> MemoryStore:
    return MemoryStore()


class TestDevicesThenWatchdog:
    async def test_devices_that_work_need_no_watchdog(self, store: MemoryStore) -> None:
        devices = Devices(succeed=True)
        leader = await fencing_of(store, devices)
        state = declared(devices=True, watchdog=WATCHDOG)
        leader.observe(state, records(n1_member=False))
        await leader._fence(state, "n1", N1, "lost")
        record = await fenced(store)
        assert record is not None and record.device == "ipmi"
        assert await store.get(keys.poison_pill(CLUSTER, "n1")) is None

    async def test_failed_devices_fall_back_to_the_watchdog(self, store: MemoryStore) -> None:
        devices = Devices(succeed=False)
        leader = await fencing_of(store, devices)
        state = declared(devices=True, watchdog=WATCHDOG)
        leader.observe(state, records(n1_member=True))  # alive but unclean
        task = asyncio.create_task(leader._fence(state, "n1", N1, "stop failed"))

        async def pill_written() -> bool:
            return await store.get(keys.poison_pill(CLUSTER, "n1")) is not None

        await eventually(pill_written, within=5, what="the poison pill")
        kv = await store.get(keys.poison_pill(CLUSTER, "n1"))
        assert kv is not None
        pill = PoisonPill.from_json(kv.value)
        assert pill is not None and pill.incarnation == "i-n1"
        # The lease is still there: however long it takes, no record.
        await asyncio.sleep(WATCHDOG * 2)
        assert await fenced(store) is None and not task.done()
        loop = asyncio.get_running_loop()
        gone = loop.time()
        leader.observe(state, records(n1_member=False))
        await asyncio.wait_for(task, timeout=5)
        assert loop.time() - gone >= WATCHDOG
        record = await fenced(store)
        assert record is not None and (record.device, record.incarnation) == ("watchdog", "i-n1")
        history = await read_history(store, CLUSTER, "n1")
        assert [(e.device, e.outcome) for e in history] == [
            ("ipmi", "failed"),
            ("watchdog", "success"),
        ]
        assert devices.calls == 1

    async def test_no_device_means_watchdog_only(self, store: MemoryStore) -> None:
        devices = Devices(succeed=False)
        leader = await fencing_of(store, devices)
        state = declared(devices=False, watchdog=WATCHDOG)
        leader.observe(state, records(n1_member=False))
        await asyncio.wait_for(leader._fence(state, "n1", N1, "lost"), timeout=5)
        assert devices.calls == 0
        record = await fenced(store)
        assert record is not None and record.device == "watchdog"

    async def test_a_new_incarnation_makes_it_moot(self, store: MemoryStore) -> None:
        leader = await fencing_of(store, Devices(succeed=False))
        state = declared(devices=False, watchdog=30)
        leader.observe(state, records(n1_member=False))
        task = asyncio.create_task(leader._fence(state, "n1", N1, "lost"))
        await asyncio.sleep(0.05)
        rejoined = records(n1_member=True)
        rejoined.incarnations["n1"] = Incarnation("i-n1-again", 1.0)
        leader.observe(state, rejoined)
        await asyncio.wait_for(task, timeout=5)
        assert await fenced(store) is None

    async def test_an_agent_without_watchdog_is_never_fenced_by_one(
        self, store: MemoryStore
    ) -> None:
        """Started before watchdogTimeout was set: waiting for its lease proves nothing."""
        leader = await fencing_of(store, Devices(succeed=False))
        state = declared(devices=False, watchdog=WATCHDOG)
        bare = Incarnation("i-n1", 0.0)
        leader.observe(state, records(n1_member=False))
        for _ in range(3):  # a fencing each round
            await asyncio.wait_for(leader._fence(state, "n1", bare, "lost"), timeout=5)
        assert await fenced(store) is None
        assert await store.get(keys.poison_pill(CLUSTER, "n1")) is None
        history = await read_history(store, CLUSTER, "n1")
        assert [(e.device, e.outcome) for e in history] == [("watchdog", "failed")]
        assert "runs no watchdog" in history[0].reason

    async def test_a_longer_node_watchdog_is_waited_for(self, store: MemoryStore) -> None:
        """watchdogTimeout lowered after the agent started: the count follows the node's."""
        leader = await fencing_of(store, Devices(succeed=False))
        state = declared(devices=False, watchdog=WATCHDOG)
        slow = Incarnation("i-n1", 0.0, WATCHDOG)
        leader.observe(state, records(n1_member=False))
        loop = asyncio.get_running_loop()
        began = loop.time()
        await asyncio.wait_for(leader._fence(state, "n1", slow, "lost"), timeout=5)
        assert loop.time() - began >= 2 * WATCHDOG
        record = await fenced(store)
        assert record is not None and record.device == "watchdog"

    async def test_without_watchdog_devices_are_all_there_is(self, store: MemoryStore) -> None:
        devices = Devices(succeed=False)
        leader = await fencing_of(store, devices)
        state = declared(devices=False, watchdog=0)
        leader.observe(state, records(n1_member=False))
        await leader._fence(state, "n1", N1, "lost")
        assert devices.calls == 1
        assert await fenced(store) is None
        assert await store.get(keys.poison_pill(CLUSTER, "n1")) is None
