"""The leader's fencing: start what the plan says must be fenced, record what succeeded.

Each fencing runs as its own task, so a slow driver never holds up a round; the next
round sees the record (or its absence) like any other runtime state. A node's fencing
is started again by a later round while it is still wanted and none is running.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

import structlog

from reconciler import keys
from reconciler.agent.election import Election
from reconciler.agent.observe import RuntimeRecords
from reconciler.agent.records import FenceRecord
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition
from reconciler.snapshot import ClusterSnapshot
from reconciler.store.base import Put, Store

log = structlog.get_logger(__name__)


class Fencer(Protocol):
    """Fences a node; returns the record to store, or None when fencing failed."""

    async def fence(
        self, node: str, *, incarnation: str, declared: DeclaredState, reason: str
    ) -> FenceRecord | None: ...


class LeaderFencing:
    """The fencings one leader started; cancelled with `cancel()` when leadership ends."""

    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        election: Election,
        fencer: Fencer,
        events: EventLog,
        wall: Callable[[], float],
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._election = election
        self._fencer = fencer
        self._events = events
        self._wall = wall
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def start(
        self,
        declared: DeclaredState,
        snapshot: ClusterSnapshot,
        transition: Transition,
        records: RuntimeRecords,
    ) -> None:
        """Fence what the plan says; with stonith disabled, record lost nodes as assumed
        down instead (Pacemaker's behaviour, and the reason disabling stonith is unsafe)."""
        stonith = declared.cluster.spec.stonith.enabled
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
            running = self._tasks.get(node)
            if running is not None and not running.done():
                continue
            last = records.incarnations.get(node)
            if last is None or records.fenced_now(node):
                continue
            if stonith:
                task = asyncio.create_task(self._fence(declared, node, last.incarnation, reason))
            else:
                record = FenceRecord(
                    last.incarnation, self._wall(), "none", "assumed-down", self._node
                )
                task = asyncio.create_task(self._record(node, record))
            self._tasks[node] = task

    async def _fence(
        self, declared: DeclaredState, node: str, incarnation: str, reason: str
    ) -> None:
        log.warning("leader.fencing", node=node, reason=reason)
        await self._events.emit("fence.started", f"fencing {node}: {reason}", node=node)
        record = await self._fencer.fence(
            node, incarnation=incarnation, declared=declared, reason=reason
        )
        if record is None:
            log.error("leader.fencing_failed", node=node)
            await self._events.emit("fence.failed", f"fencing {node} failed", node=node, ok=False)
            return
        await self._record(node, record)

    async def _record(self, node: str, record: FenceRecord) -> None:
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
            await self._events.emit("fence.succeeded", f"{node} {how}", node=node)
