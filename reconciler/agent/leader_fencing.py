"""The leader's fencing: start what the plan says must be fenced, record the outcome.

Each fencing runs as its own task, so a slow driver never holds up a round; the next
round sees the record (or its absence) like any other runtime state. A node's fencing
is started again by a later round while it is still wanted and none is running.

The FenceDevices that list the node are tried first, every topology level. Watchdog
fencing (`stonith.watchdogTimeout` > 0) is the last resort when they all fail, and the
only way when none lists the node: the leader writes a poison pill for the node's
incarnation (poison.py) and counts the node fenced once its lease has been gone, as this
leader saw it, for watchdogTimeout (watchdog_timing.py). Every attempt goes to the fence
history (fence_history.py); only a success becomes `fenced/<node>`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from typing import Protocol

import structlog

from reconciler import keys
from reconciler.agent import fence_history
from reconciler.agent.election import Election
from reconciler.agent.fence_history import FenceEntry
from reconciler.agent.fencer import FenceResult
from reconciler.agent.observe import RuntimeRecords
from reconciler.agent.poison import PoisonPill
from reconciler.agent.records import FenceRecord, Incarnation
from reconciler.agent.watchdog_timing import fenced_after, watchdog_wait
from reconciler.events import EventLog
from reconciler.fencing import levels_for
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition
from reconciler.snapshot import ClusterSnapshot
from reconciler.store.base import Put, Store

log = structlog.get_logger(__name__)

WATCHDOG = "watchdog"


class Fencer(Protocol):
    """Fences a node through its devices: the record to store (None on failure) and
    every attempt for the history."""

    async def fence(
        self, node: str, *, incarnation: str, declared: DeclaredState, reason: str
    ) -> FenceResult: ...


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
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._election = election
        self._fencer = fencer
        self._events = events
        self._wall = wall
        self._monotonic = monotonic
        self._history = fence_history.history_log(store, cluster, wall=wall)
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._gone_since: dict[str, float] = {}
        """Node → when this leader first saw its lease gone (monotonic)."""
        self._incarnations: dict[str, str] = {}
        self._observed = asyncio.Event()
        self._said: set[tuple[str, str, str, str]] = set()

    def cancel(self) -> None:
        for task in self._tasks.values():
            task.cancel()

    def observe(self, declared: DeclaredState, records: RuntimeRecords) -> None:
        """Each round: whose lease is gone since when. A new leader starts its own count
        (it cannot know when the node was last seen): conservative."""
        now = self._monotonic()
        for node in declared.nodes:
            if node in records.members:
                self._gone_since.pop(node, None)
            else:
                self._gone_since.setdefault(node, now)
            last = records.incarnations.get(node)
            if last is not None:
                self._incarnations[node] = last.incarnation
        self._observed.set()

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
                task = asyncio.create_task(self._fence(declared, node, last, reason))
            else:
                record = FenceRecord(
                    last.incarnation, self._wall(), "none", "assumed-down", self._node
                )
                entry = FenceEntry(
                    node, "none", None, "assumed-down", "success", reason, self._node,
                    last.incarnation,
                )  # fmt: skip
                task = asyncio.create_task(self._record(node, record, entry))
            self._tasks[node] = task

    async def _fence(
        self, declared: DeclaredState, node: str, last: Incarnation, reason: str
    ) -> None:
        log.warning("leader.fencing", node=node, reason=reason)
        await self._events.emit("fence.started", f"fencing {node}: {reason}", node=node)
        incarnation = last.incarnation
        watchdog = declared.cluster.spec.stonith.watchdog_timeout.seconds
        if levels_for(node, declared.fence_devices.values()) or not watchdog:
            result = await self._fencer.fence(
                node, incarnation=incarnation, declared=declared, reason=reason
            )
            await self._add_history(result.history)
            if result.record is not None:
                await self._record(node, result.record)
                return
            log.error("leader.fencing_failed", node=node, watchdog=bool(watchdog))
            await self._events.emit("fence.failed", f"fencing {node} failed", node=node, ok=False)
            if not watchdog:
                return
        wait = watchdog_wait(watchdog, last.watchdog)
        if wait is None:
            # Its agent started without a watchdog (before watchdogTimeout was set). It
            # stays unfenced, and its resources where they are.
            why = "its agent runs no watchdog (restart it to get one)"
            log.error("leader.watchdog_fencing_impossible", node=node, reason=why)
            entry = FenceEntry(
                node, WATCHDOG, None, "self-fence", "failed", why, self._node, incarnation
            )
            await self._add_history([entry])
            return
        await self._fence_by_watchdog(node, incarnation, reason, wait)

    async def _add_history(self, entries: Iterable[FenceEntry]) -> None:
        """Add to the fence history; an entry where nothing could run (no device, no
        watchdog) only once per node and incarnation, or every round would add one."""
        fresh = []
        for entry in entries:
            if entry.device in ("-", WATCHDOG) and entry.outcome != "success":
                key = (entry.node, entry.incarnation, entry.device, entry.reason)
                if key in self._said:
                    continue
                self._said.add(key)
            fresh.append(entry)
        await fence_history.record(self._history, fresh)

    async def _fence_by_watchdog(
        self, node: str, incarnation: str, reason: str, watchdog_timeout: float
    ) -> None:
        pill = PoisonPill(incarnation, self._wall(), self._node, reason)
        await self._store.txn(
            [self._election.guard()], [Put(keys.poison_pill(self._cluster, node), pill.to_json())]
        )
        log.warning("leader.watchdog_fencing", node=node, timeout=watchdog_timeout)
        await self._events.emit(
            "fence.watchdog",
            f"{node}: poison pill written; fenced once its lease has been gone for "
            f"{watchdog_timeout:g}s",
            node=node,
        )
        while True:
            if self._incarnations.get(node) != incarnation:
                log.warning("leader.watchdog_fencing_moot", node=node, why="a new incarnation")
                return
            since = self._gone_since.get(node)
            left = None
            if since is not None:
                left = fenced_after(since, watchdog_timeout) - self._monotonic()
                if left <= 0:
                    gone_for = self._monotonic() - since
                    break
            # Until the next round's observation (the lease back, a new incarnation) or
            # the moment the count is complete, whichever comes first.
            self._observed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._observed.wait(), timeout=left)
        record = FenceRecord(incarnation, self._wall(), WATCHDOG, "self-fence", self._node)
        entry = FenceEntry(
            node,
            WATCHDOG,
            None,
            "self-fence",
            "success",
            f"lease gone for {gone_for:.1f}s (watchdogTimeout {watchdog_timeout:g}s): its watchdog "
            "has fired",
            self._node,
            incarnation,
        )
        await self._record(node, record, entry)

    async def _record(
        self, node: str, record: FenceRecord, entry: FenceEntry | None = None
    ) -> None:
        result = await self._store.txn(
            [self._election.guard()], [Put(keys.fenced(self._cluster, node), record.to_json())]
        )
        log.warning("leader.fenced", node=node, device=record.device, recorded=result.succeeded)
        if not result.succeeded:
            return
        if entry is not None:
            await self._add_history([entry])
        how = (
            "assumed down (stonith disabled)"
            if record.device == "none"
            else f"fenced by {record.device} ({record.action})"
        )
        await self._events.emit("fence.succeeded", f"{node} {how}", node=node)
