"""The leader's loop: observe everything, schedule, fence, move claims, hand out steps.

Level-based (controller-runtime's lesson): each round reads the whole runtime state,
never reacts to the one event that woke it, and writes only what differs. Every write
is conditional on still being the leader (the election's fencing token), so a deposed
leader changes nothing. One summary line per round that changed something.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from reconciler import declared_store, keys
from reconciler import intents as operator
from reconciler.agent.claims import Claim, plan_claims
from reconciler.agent.decisions import Decision, Step, ready_steps, targets
from reconciler.agent.election import Election
from reconciler.agent.intent_work import IntentWork, intent_work
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.records import FenceRecord
from reconciler.errors import HactlError
from reconciler.events import EventLog, membership_changes
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition, schedule
from reconciler.snapshot import ClusterSnapshot
from reconciler.store.base import Compare, Delete, KeyValue, Put, Store

log = structlog.get_logger(__name__)

CLAIM_BATCH = 32
"""Claim changes per transaction: well inside etcd's default 128 operations."""
KEEP_INPUTS = 20
DEBOUNCE_S = 0.01
ROUND_RETRY_S = 0.1


class Fencer(Protocol):
    """Fences a node; returns the record to store, or None when fencing failed."""

    async def fence(
        self, node: str, *, incarnation: str, declared: DeclaredState, reason: str
    ) -> FenceRecord | None: ...


@dataclass
class RoundState:
    """What the leader remembers between rounds (rebuilt from the store by a new leader)."""

    generation: int = -1
    declared: DeclaredState = field(default_factory=lambda: DeclaredState.of([]))
    lost_at: dict[str, float] = field(default_factory=dict)
    last_input_digest: str = ""
    input_sequence: int = 0
    fencing: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    members: dict[str, str] | None = None
    """Each node's membership state at the last round (for events); None before the first."""


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
        self._fencer = fencer
        self._wall = wall
        self._state = RoundState()
        self._monotonic = time.monotonic
        self._started = time.monotonic()
        self.last_transition: Transition | None = None
        self.events = EventLog(store, cluster=cluster, writer=f"{node}/leader", wall=wall)

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
            for task in self._state.fencing.values():
                task.cancel()

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
        for node in state.declared.nodes:
            if records.online(node) or records.known_down(node):
                state.lost_at.pop(node, None)
            else:
                state.lost_at.setdefault(node, now)
        await self._report_membership(records)
        waiting = self._waiting_for_peers(records)
        if waiting is not None:
            return revision, waiting
        snapshot, transition = await asyncio.to_thread(
            self._plan, state.declared, records, dict(state.lost_at), now
        )
        self.last_transition = transition
        await self._save_input(snapshot)
        if any(f.node == self._node for f in transition.fencing):
            # A node never fences itself: a peer must, and only a leader fences.
            log.warning("leader.must_be_fenced", node=self._node)
            await self._election.resign()
            return revision, None
        self._start_fencing(snapshot, transition, records)
        claims = await self._move_claims(transition, records, values)
        work = intent_work(
            self._cluster,
            records,
            snapshot,
            declared=state.declared,
            revisions={k: kv.mod_revision for k, kv in values.items()},
            now=now,
        )
        changed = await self._hand_out(transition, claims, values, cleanups=work.node_cleanups)
        await self._settle_intents(work, records, values)
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

    async def _report_membership(self, records: RuntimeRecords) -> None:
        """Events for nodes that joined, left or were lost since the last round."""
        now: dict[str, str] = {}
        for node in self._state.declared.nodes:
            if records.online(node):
                now[node] = "online"
            elif records.fenced_now(node):
                now[node] = "fenced"
            elif records.known_down(node):
                now[node] = "left" if node in records.incarnations else "absent"
            else:
                now[node] = "lost"
        before, self._state.members = self._state.members, now
        if before is None:
            online = ", ".join(n for n, s in sorted(now.items()) if s == "online")
            await self.events.emit(
                "leader.elected",
                f"{self._node} leads (token {self._election.token}); online: {online}",
                node=self._node,
            )
            return
        for kind, node, message in membership_changes(before, now):
            await self.events.emit(kind, message, node=node, ok=kind != "member.lost")

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

    # --- reading -------------------------------------------------------------------

    async def _read_runtime(self) -> tuple[dict[str, KeyValue], int]:
        prefix = keys.cluster_prefix(self._cluster)
        values: dict[str, KeyValue] = {}
        first_revision = 0
        for part in keys.RUNTIME_PREFIXES:
            found, revision = await self._store.range(prefix + part)
            first_revision = first_revision or revision
            values.update((kv.key, kv) for kv in found)
        return values, first_revision

    # --- fencing -------------------------------------------------------------------

    def _start_fencing(
        self, snapshot: ClusterSnapshot, transition: Transition, records: RuntimeRecords
    ) -> None:
        """Fence what the plan says; with stonith disabled, record lost nodes as assumed
        down instead (Pacemaker's behaviour, and the reason disabling stonith is unsafe)."""
        stonith = self._state.declared.cluster.spec.stonith.enabled
        wanted = {f.node: f.reason for f in transition.fencing}
        if not stonith and not snapshot.maintenance:
            # Cluster maintenance: monitor, never act, and recording a lost node as
            # down is an act (it lets its resources start elsewhere afterwards).
            wanted.update(
                (node, "lost; stonith disabled")
                for node, state in snapshot.nodes.items()
                if state.unclean
            )
        for node, reason in sorted(wanted.items()):
            running = self._state.fencing.get(node)
            if running is not None and not running.done():
                continue
            last = records.incarnations.get(node)
            if last is None or records.fenced_now(node):
                continue
            if stonith:
                task = asyncio.create_task(self._fence(node, last.incarnation, reason))
            else:
                record = FenceRecord(
                    last.incarnation, self._wall(), "none", "assumed-down", self._node
                )
                task = asyncio.create_task(self._record_fencing(node, record))
            self._state.fencing[node] = task

    async def _fence(self, node: str, incarnation: str, reason: str) -> None:
        log.warning("leader.fencing", node=node, reason=reason)
        await self.events.emit("fence.started", f"fencing {node}: {reason}", node=node)
        record = await self._fencer.fence(
            node, incarnation=incarnation, declared=self._state.declared, reason=reason
        )
        if record is None:
            log.error("leader.fencing_failed", node=node)
            await self.events.emit("fence.failed", f"fencing {node} failed", node=node, ok=False)
            return
        await self._record_fencing(node, record)

    async def _record_fencing(self, node: str, record: FenceRecord) -> None:
        result = await self._store.txn(
            [self._election.guard()], [Put(keys.fenced(self._cluster, node), record.to_json())]
        )
        log.warning("leader.fenced", node=node, device=record.device, recorded=result.succeeded)
        if result.succeeded:
            how = (
                "assumed down (stonith disabled)"
                if record.device == "none"
                else f"fenced by {record.device} ({record.action})"
            )
            await self.events.emit("fence.succeeded", f"{node} {how}", node=node)

    # --- claims --------------------------------------------------------------------

    async def _move_claims(
        self, transition: Transition, records: RuntimeRecords, values: dict[str, KeyValue]
    ) -> dict[str, Claim]:
        prefix = keys.claims_prefix(self._cluster)
        current = {
            key[len(prefix) :]: (Claim.from_json(kv.value), kv.mod_revision)
            for key, kv in values.items()
            if key.startswith(prefix)
        }
        active, promoted = targets(transition)
        changes = await asyncio.to_thread(
            plan_claims,
            cluster=self._cluster,
            declared=self._state.declared,
            records=records,
            claims=current,
            evidence=values,
            targets=active,
            promote_targets=promoted,
        )
        claims = {name: claim for name, (claim, _) in current.items()}
        for start in range(0, len(changes), CLAIM_BATCH):
            batch = changes[start : start + CLAIM_BATCH]
            compares = [self._election.guard(), *(c for ch in batch for c in ch.compares)]
            puts = [Put(keys.claim(self._cluster, ch.resource), ch.new.to_json()) for ch in batch]
            result = await self._store.txn(compares, puts)
            if result.succeeded:
                claims.update((ch.resource, ch.new) for ch in batch)
        return claims

    # --- decisions -----------------------------------------------------------------

    async def _hand_out(
        self,
        transition: Transition,
        claims: dict[str, Claim],
        values: dict[str, KeyValue],
        *,
        cleanups: dict[str, tuple[str, ...]],
    ) -> int:
        token = self._election.token
        if token is None:
            return 0
        nodes = sorted(self._state.declared.nodes)
        ready = ready_steps(transition, claims, nodes)
        for node, resources in cleanups.items():
            extra = (Step("cleanup", resource) for resource in resources)
            ready[node] = tuple(sorted({*ready.get(node, ()), *extra}))
        writes: list[Put | Delete] = []
        for node, steps in ready.items():
            key = keys.decisions(self._cluster, node)
            body = Decision(token, steps).to_json()
            kv = values.get(key)
            if kv is None or kv.value != body:
                writes.append(Put(key, body))
        if writes:
            await self._store.txn([self._election.guard()], writes)
        return len(writes)

    # --- operator intents ----------------------------------------------------------

    async def _settle_intents(
        self, work: IntentWork, records: RuntimeRecords, values: dict[str, KeyValue]
    ) -> None:
        """Remove finished intents and, for nodes without an agent, failcounts a cleanup
        forgets; each only if unchanged since read (a repeated intent is a new one)."""
        doomed = [(keys.intent(self._cluster, name), name) for name in sorted(work.finished)] + [
            (key, None) for key in work.stale_keys
        ]
        for key, name in doomed:
            kv = values.get(key)
            if kv is None:
                continue
            result = await self._store.txn(
                [self._election.guard(), Compare.unchanged(key, kv.mod_revision)], [Delete(key)]
            )
            if result.succeeded and name is not None:
                intent = records.intents[name]
                why = work.finished[name]
                log.info("leader.intent_finished", intent=intent.describe(), by=intent.by, why=why)
                await self.events.emit(
                    "intent.expired" if why == "expired" else "intent.finished",
                    f"{intent.describe()} (by {intent.by}): {why}",
                    node=intent.node,
                    resource=intent.resource,
                )

    # --- saved inputs --------------------------------------------------------------

    async def _save_input(self, snapshot: ClusterSnapshot) -> None:
        """Keep each changed scheduler input, so `hactl simulate` can replay it."""
        body = snapshot.to_dict()
        body.pop("observedAt", None)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        state = self._state
        if digest == state.last_input_digest:
            return
        if not state.input_sequence:
            found, _ = await self._store.range(keys.inputs_prefix(self._cluster))
            state.input_sequence = int(found[-1].key.rsplit("/", 1)[1]) if found else 0
        state.input_sequence += 1
        writes: list[Put | Delete] = [
            Put(keys.inputs(self._cluster, state.input_sequence), snapshot.to_json().encode())
        ]
        expired = state.input_sequence - KEEP_INPUTS
        if expired > 0:
            writes.append(Delete(keys.inputs(self._cluster, expired)))
        await self._store.txn([self._election.guard()], writes)
        state.last_input_digest = digest

    # --- waiting -------------------------------------------------------------------

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
