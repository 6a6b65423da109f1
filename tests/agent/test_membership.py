"""Membership leases and leader election, on every store backend, in real time."""

from __future__ import annotations

import asyncio

import pytest

from reconciler import keys
from reconciler.agent.budget import LeaseBudget
from reconciler.agent.election import Election, current_leader
from reconciler.agent.membership import AlreadyMember, MemberInfo, Membership
from reconciler.store.base import Put, Store
from tests.waiting import eventually


def membership(store: Store, node: str, ttl: float) -> Membership:
    budget = LeaseBudget(ttl=ttl, keepalive=ttl / 6, warntime=ttl / 2)
    return Membership(store, cluster="t", info=MemberInfo.for_this_process(node), budget=budget)


class TestLeaseBudget:
    """The budget gives up before the store could expire the lease."""

    def test_gives_up_before_expiry(self) -> None:
        budget = LeaseBudget(ttl=1.0, keepalive=0.2, warntime=0.5)
        assert budget.give_up_at(10.0) < budget.expires_no_earlier_than(10.0)
        assert budget.give_up_at(10.0) == pytest.approx(10.75)

    def test_margin_is_at_least_one_keepalive(self) -> None:
        budget = LeaseBudget(ttl=2.0, keepalive=0.6, warntime=1.0)
        assert budget.margin == 0.6

    def test_a_refresh_is_always_tried_before_giving_up(self) -> None:
        budget = LeaseBudget(ttl=1.0, keepalive=0.8, warntime=0.9)
        assert budget.give_up_at(0.0) > budget.keepalive
        assert budget.give_up_at(0.0) < budget.expires_no_earlier_than(0.0)

    def test_late(self) -> None:
        budget = LeaseBudget(ttl=1.0, keepalive=0.2, warntime=0.5)
        assert not budget.is_late(10.0, 10.4)
        assert budget.is_late(10.0, 10.6)


class TestMembership:
    """A node is a member exactly while its agent keeps its lease."""

    async def test_second_agent_for_a_node_is_refused(self, store: Store, ttl: float) -> None:
        first = membership(store, "n1", ttl)
        await first.join()
        with pytest.raises(AlreadyMember, match="already has a live agent"):
            await membership(store, "n1", ttl).join()
        await first.leave()

    async def test_kept_beyond_ttl_and_gone_at_leave(self, store: Store, ttl: float) -> None:
        member = membership(store, "n1", ttl)
        await member.join()
        keeper = asyncio.create_task(member.keep())
        await asyncio.sleep(ttl * 3)
        assert await store.get(keys.member("t", "n1")) is not None
        assert not member.lost.is_set()
        await member.leave()
        await keeper
        assert await store.get(keys.member("t", "n1")) is None

    async def test_expires_when_not_refreshed(self, store: Store, ttl: float) -> None:
        member = membership(store, "n1", ttl)
        await member.join()

        async def gone() -> bool:
            return await store.get(keys.member("t", "n1")) is None

        await eventually(gone, within=ttl * 10, what="member key expired")

    async def test_lost_when_the_store_drops_the_lease(self, store: Store, ttl: float) -> None:
        member = membership(store, "n1", ttl)
        await member.join()
        keeper = asyncio.create_task(member.keep())
        await store.revoke_lease(member.lease)
        await asyncio.wait_for(member.lost.wait(), timeout=ttl * 5)
        await keeper


class TestElection:
    """Exactly one leader; a deposed leader's writes fail; the next leader's token is larger."""

    async def test_one_leader_then_failover(self, store: Store, ttl: float) -> None:
        members = [membership(store, f"n{i}", ttl) for i in (1, 2)]
        for member in members:
            await member.join()
        keepers = [asyncio.create_task(m.keep()) for m in members]
        elections = [Election(store, cluster="t", membership=m) for m in members]
        runs = [asyncio.create_task(e.run()) for e in elections]

        async def one_leader() -> bool:
            return sum(e.is_leader for e in elections) == 1

        await eventually(one_leader, within=5, what="one leader")
        first = next(e for e in elections if e.is_leader)
        other = next(e for e in elections if not e.is_leader)
        old_guard = first.guard()
        leader = await current_leader(store, "t")
        assert leader is not None and leader.token == first.token

        await members[elections.index(first)].leave()

        async def other_leads() -> bool:
            return other.is_leader

        await eventually(other_leads, within=ttl * 10, what="failover")
        assert not first.is_leader

        async def first_let_go() -> bool:
            # Both elections watch the same DELETE; which one hears it first is up to the
            # store, so the old leader's token may clear just after the new one leads.
            return first.token is None

        await eventually(first_let_go, within=ttl * 10, what="the old leader's token cleared")
        assert isinstance(other.token, int) and isinstance(old_guard.operand, int)
        assert other.token > old_guard.operand
        stale = await store.txn([old_guard], [Put(keys.cluster_prefix("t") + "x", b"1")])
        assert not stale.succeeded
        fresh = await store.txn([other.guard()], [Put(keys.cluster_prefix("t") + "x", b"1")])
        assert fresh.succeeded
        for member in members:
            await member.leave()
        for task in [*keepers, *runs]:
            task.cancel()
        await asyncio.gather(*keepers, *runs, return_exceptions=True)
