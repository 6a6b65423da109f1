"""The leader's rounds on an injected clock: it wakes for an intent's expiry, stops
honouring it exactly then, removes the record, and hands out cleanup steps."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest

from reconciler import declared_store, keys
from reconciler.agent.decisions import Decision, Step
from reconciler.agent.leader import Leader
from reconciler.agent.membership import MemberInfo
from reconciler.agent.records import FailcountRecord, FenceRecord, Incarnation, Observed
from reconciler.intent_store import record_intent
from reconciler.intents import Intent
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Cluster, Node, Resource
from reconciler.store import MemoryStore, Store
from reconciler.store.base import Compare, Put

CLUSTER = "c"
T0 = 1_000_000.0


class FakeElection:
    """Holds the leader key like Election does, without campaigning."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self.token: int | None = None

    async def win(self) -> None:
        body = json.dumps({"node": "n1", "incarnation": "i-n1"}).encode()
        result = await self._store.txn([], [Put(keys.leader(CLUSTER), body)])
        self.token = result.revision

    @property
    def is_leader(self) -> bool:
        return self.token is not None

    def guard(self) -> Compare:
        assert self.token is not None
        return Compare(keys.leader(CLUSTER), "create", "==", self.token)

    async def resign(self) -> None:
        self.token = None


class NoFencer:
    async def fence(self, node: str, **_: object) -> FenceRecord | None:
        raise AssertionError(f"nothing should be fenced, asked for {node}")


@pytest.fixture
async def store() -> AsyncIterator[Store]:
    memory = MemoryStore()
    docs = [
        Cluster.model_validate(
            {"metadata": {"name": "c"}, "spec": {"stonith": {"enabled": False}}}
        ),
        *(Node.model_validate({"metadata": {"name": n}}) for n in ("n1", "n2")),
        Resource.model_validate({"metadata": {"name": "x"}, "spec": {"agent": "hactl:Dummy"}}),
    ]
    await declared_store.apply_declared(
        memory, CLUSTER, DeclaredState.of(docs), prune=False, dry_run=False, by="t", source={}
    )
    for node in ("n1", "n2"):
        await memory.put(
            keys.member(CLUSTER, node), MemberInfo(node, f"i-{node}", 1, "h").to_json()
        )
        await memory.put(keys.incarnation(CLUSTER, node), Incarnation(f"i-{node}", 0.0).to_json())
    running = Observed("i-n1", "Started", None, 0, 0.0)
    await memory.put(keys.observed(CLUSTER, "n1", "x"), running.to_json())
    await memory.put(keys.claim(CLUSTER, "x"), b'{"active":["n1"],"promoted":[]}')
    try:
        yield memory
    finally:
        await memory.close()


async def leader(store: Store, clock: list[float]) -> Leader:
    election = FakeElection(store)
    await election.win()
    return Leader(
        store,
        cluster=CLUSTER,
        node="n1",
        election=election,  # type: ignore[arg-type]
        fencer=NoFencer(),
        wall=lambda: clock[0],
    )


async def steps(store: Store, node: str) -> tuple[Step, ...]:
    kv = await store.get(keys.decisions(CLUSTER, node))
    return Decision.from_json(kv.value).steps if kv else ()


class TestExpiryOnTheLeader:
    """A ban for 60 s: the leader acts on it, wakes at its end, then forgets it."""

    async def test_ban_then_expiry(self, store: Store) -> None:
        clock = [T0]
        ban = Intent(kind="ban", by="ops", at=T0, resource="x", node="n1", until=T0 + 60)
        await record_intent(store, CLUSTER, ban)
        round_of = await leader(store, clock)
        _, recheck = await round_of.round()
        assert recheck == pytest.approx(60.0)
        assert await steps(store, "n1") == (Step("stop", "x"),)

        clock[0] = T0 + 59.5
        _, recheck = await round_of.round()
        assert recheck == pytest.approx(0.5)
        assert await store.get(keys.intent(CLUSTER, "ban/x/n1")) is not None

        clock[0] = T0 + 60
        await round_of.round()
        assert await steps(store, "n1") == ()
        assert await store.get(keys.intent(CLUSTER, "ban/x/n1")) is None


class TestCleanupSteps:
    """A cleanup becomes a step for the node that holds old failures, until forgotten."""

    async def test_cleanup_step_then_done(self, store: Store) -> None:
        key = keys.failcount(CLUSTER, "n1", "x", "monitor")
        await store.put(key, FailcountRecord(2, T0 - 5).to_json())
        await record_intent(store, CLUSTER, Intent(kind="cleanup", by="ops", at=T0, resource="x"))
        round_of = await leader(store, [T0])
        await round_of.round()
        assert Step("cleanup", "x") in await steps(store, "n1")
        await store.delete(key)  # what the node's agent does
        await round_of.round()
        assert await steps(store, "n1") == ()
        assert await store.get(keys.intent(CLUSTER, "cleanup/x")) is None

    async def test_a_newer_failure_is_kept(self, store: Store) -> None:
        await record_intent(store, CLUSTER, Intent(kind="cleanup", by="ops", at=T0, resource="x"))
        key = keys.failcount(CLUSTER, "n1", "x", "monitor")
        await store.put(key, FailcountRecord(1, T0 + 1).to_json())
        round_of = await leader(store, [T0])
        await round_of.round()
        assert Step("cleanup", "x") not in await steps(store, "n1")
        assert await store.get(key) is not None
        assert await store.get(keys.intent(CLUSTER, "cleanup/x")) is None
