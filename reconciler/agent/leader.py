"""The leader's loop: observe everything, schedule, fence, move claims, hand out steps.

Level-based (controller-runtime's lesson): each round reads the whole runtime state,
never reacts to the one event that woke it, and writes only what differs. Every write
is conditional on still being the leader (the election's fencing token), so a deposed
leader changes nothing. One summary line per round that changed something.

The Leader orchestrates a round; each step's work lives in its own module: fencing
(leader_fencing.py), claims and decisions (handout.py), operator intents
(intent_settle.py), membership events (member_report.py), saved inputs (saved_inputs.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from reconciler import declared_store, keys
from reconciler import intents as operator
from reconciler.agent.election import Election
from reconciler.agent.handout import hand_out, move_claims
from reconciler.agent.intent_settle import settle_intents
from reconciler.agent.intent_work import intent_work
from reconciler.agent.leader_fencing import Fencer, LeaderFencing
from reconciler.agent.member_report import MembershipReport
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.saved_inputs import SavedInputs
from reconciler.errors import HactlError
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition, schedule
from reconciler.snapshot import ClusterSnapshot
from reconciler.store.base import KeyValue, Store

log = structlog.get_logger(__name__)

DEBOUNCE_S = 0.01
ROUND_RETRY_S = 0.1

__all__ = ["Fencer", "Leader"]


@dataclass
class RoundState:
    """What the leader remembers between rounds (rebuilt from the store by a new leader)."""

    generation: int = -1
    declared: DeclaredState = field(default_factory=lambda: DeclaredState.of([]))
    lost_at: dict[str, float] = field(default_factory=dict)


class Leader:
    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        election: Election,
        fencer: Fencer,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._election = election
        self._wall = wall
        self._state = RoundState()
        self._monotonic = time.monotonic
        self._started = time.monotonic()
        self.last_transition: Transition | None = None
        self.events = EventLog(store, cluster=cluster, writer=f"{node}/leader", wall=wall)
        self._fencing = LeaderFencing(
            store,
            cluster=cluster,
            node=node,
            election=election,
            fencer=fencer,
            events=self.events,
            wall=wall,
        )
        self._members = MembershipReport(self.events, node=node, election=election)
        self._inputs = SavedInputs(store, cluster=cluster, election=election)

    async def run(self) -> None:
        """Rounds until leadership is lost; then cancels fencing it started.

        A round that fails on the store (a member lost, a deadline passed) is simply run
        again: each round reads everything afresh, so nothing is lost by retrying."""
        try:
            while self._election.is_leader:
                try:
                    revision, recheck_in = await self.round()
                    await self._wait_for_change(revision, recheck_in)
                except HactlError as exc:
                    log.warning("leader.round_failed", node=self._node, error=str(exc))
                    await asyncio.sleep(ROUND_RETRY_S)
        finally:
            self._fencing.cancel()

    async def round(self) -> tuple[int, float | None]:
        """One observe → schedule → act pass; returns the revision read and a recheck delay."""
        state = self._state
        generation = await declared_store.read_generation(self._store, self._cluster)
        number = generation.number if generation else 0
        if number != state.generation:
            state.declared = (
                await declared_store.read_snapshot(self._store, self._cluster, generation)
                if generation
                else DeclaredState.of([])
            )
            state.generation = number
        declared = state.declared
        values, revision = await self._read_runtime()
        # The pure work of a round runs on a thread: with thousands of resources it takes
        # long enough to delay this agent's own lease refreshes if it held the event loop.
        records = await asyncio.to_thread(
            functools.partial(
                RuntimeRecords.decode,
                self._cluster,
                {k: kv.value for k, kv in values.items()},
                created={k: kv.create_revision for k, kv in values.items()},
            )
        )
        now = self._wall()
        for node in declared.nodes:
            if records.online(node) or records.known_down(node):
                state.lost_at.pop(node, None)
            else:
                state.lost_at.setdefault(node, now)
        self._fencing.observe(declared, records)
        await self._members.report(declared, records)
        waiting = self._waiting_for_peers(records)
        if waiting is not None:
            return revision, waiting
        snapshot, transition = await asyncio.to_thread(
            self._plan, declared, records, dict(state.lost_at), now
        )
        self.last_transition = transition
        await self._inputs.save(snapshot)
        if any(f.node == self._node for f in transition.fencing):
            # A node never fences itself: a peer must, and only a leader fences.
            log.warning("leader.must_be_fenced", node=self._node)
            await self._election.resign()
            return revision, None
        self._fencing.start(declared, snapshot, transition, records)
        claims = await move_claims(
            self._store,
            cluster=self._cluster,
            election=self._election,
            declared=declared,
            transition=transition,
            records=records,
            values=values,
        )
        work = intent_work(
            self._cluster,
            records,
            snapshot,
            declared=declared,
            revisions={k: kv.mod_revision for k, kv in values.items()},
            now=now,
        )
        changed = await hand_out(
            self._store,
            cluster=self._cluster,
            election=self._election,
            nodes=sorted(declared.nodes),
            transition=transition,
            claims=claims,
            values=values,
            cleanups=work.node_cleanups,
        )
        await settle_intents(
            self._store,
            cluster=self._cluster,
            election=self._election,
            events=self.events,
            work=work,
            records=records,
            values=values,
        )
        if changed:
            log.info(
                "leader.round",
                generation=number,
                actions=len(transition.actions),
                fence=list(transition.fence),
                decided=changed,
            )
        recheck_at = min(
            (
                t
                for t in (
                    transition.recheck_at,
                    operator.next_expiry(records.intents.values(), now),
                )
                if t is not None
            ),
            default=None,
        )
        recheck = None if recheck_at is None else max(0.0, recheck_at - now)
        return revision, recheck

    @staticmethod
    def _plan(
        declared: DeclaredState, records: RuntimeRecords, lost_at: dict[str, float], now: float
    ) -> tuple[ClusterSnapshot, Transition]:
        snapshot = build_snapshot(declared, records, lost_at=lost_at, now=now)
        return snapshot, schedule(snapshot, now)

    def _waiting_for_peers(self, records: RuntimeRecords) -> float | None:
        """Seconds to wait before scheduling, while declared nodes that never joined may
        still be booting (heartbeat's initdeadtime); None when there is no need to wait."""
        unseen = [
            n
            for n in self._state.declared.nodes
            if n not in records.incarnations and n not in records.members
        ]
        if not unseen:
            return None
        initdead = self._state.declared.cluster.spec.timing.initdeadtime.seconds
        left = self._started + initdead - self._monotonic()
        if left <= 0:
            return None
        log.info("leader.waiting_for_peers", nodes=unseen, seconds=round(left, 2))
        return left

    async def _read_runtime(self) -> tuple[dict[str, KeyValue], int]:
        prefix = keys.cluster_prefix(self._cluster)
        values: dict[str, KeyValue] = {}
        first_revision = 0
        for part in keys.RUNTIME_PREFIXES:
            found, revision = await self._store.range(prefix + part)
            first_revision = first_revision or revision
            values.update((kv.key, kv) for kv in found)
        return values, first_revision

    async def _wait_for_change(self, revision: int, recheck_in: float | None) -> None:
        """Until anything under the cluster's prefix changes after `revision` — except
        the event stream, which reports on rounds and must not cause them."""
        watch = self._store.watch(keys.cluster_prefix(self._cluster), start_revision=revision + 1)
        ignored = keys.events_prefix(self._cluster)

        async def first_change() -> None:
            async for event in watch:
                if not event.key.startswith(ignored):
                    return

        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(first_change(), timeout=recheck_in)
        finally:
            await watch.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(DEBOUNCE_S)
