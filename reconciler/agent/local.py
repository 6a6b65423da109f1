"""This node's view of its own resources, and how it is reported to the store.

The node agent is the only writer of its observed and failcount records; it writes
them only when they change (SPEC: observed state is written only on change). Starts
and promotes are announced as pending *before* they run, in a transaction that checks
the leader's token, the node's current decision and the resource's claim (claims.py):
if any changed meanwhile, the action does not run.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import structlog

from reconciler import keys
from reconciler.agent.records import FailcountRecord, Observed, OperationName
from reconciler.snapshot import ObservedRole
from reconciler.store.base import Compare, Delete, Put, Store

log = structlog.get_logger(__name__)


@dataclass
class LocalResource:
    role: ObservedRole = "Stopped"
    failed: OperationName | None = None
    rc: int = 7
    pending: OperationName | None = None
    failcounts: dict[str, FailcountRecord] = field(default_factory=dict)

    @property
    def possibly_active(self) -> bool:
        return (
            self.role != "Stopped"
            or self.pending in ("start", "promote")
            or (self.failed == "stop")
        )


class LocalState:
    """What runs here, mirrored to the store."""

    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        incarnation: str,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._incarnation = incarnation
        self._wall = wall
        self.resources: dict[str, LocalResource] = {}
        self._written: dict[str, bytes] = {}
        self.changed = asyncio.Event()
        """Set whenever a resource's reported state changes."""

    def of(self, resource: str) -> LocalResource:
        return self.resources.setdefault(resource, LocalResource())

    def active(self) -> list[str]:
        return sorted(r for r, s in self.resources.items() if s.possibly_active)

    def _record(self, resource: str) -> Observed:
        state = self.of(resource)
        return Observed(
            self._incarnation, state.role, state.failed, state.rc, self._wall(), state.pending
        )

    def _changed(self, resource: str, record: Observed) -> bool:
        body = (record.role, record.failed, record.rc, record.pending, record.incarnation)
        key = repr(body).encode()
        if self._written.get(resource) == key:
            return False
        self._written[resource] = key
        self.changed.set()
        return True

    async def report(self, resource: str, *, force: bool = False) -> None:
        """Write the resource's state if it changed since the last write (or `force`:
        a cleanup must see a record newer than itself even when nothing changed)."""
        record = self._record(resource)
        if self._changed(resource, record) or force:
            await self._store.put(
                keys.observed(self._cluster, self._node, resource), record.to_json()
            )

    async def announce(self, resource: str, op: OperationName, guards: list[Compare]) -> bool:
        """Record `op` as pending, if every guard still holds; False: do not run it."""
        state = self.of(resource)
        previous = state.pending
        state.pending = op
        record = self._record(resource)
        result = await self._store.txn(
            guards, [Put(keys.observed(self._cluster, self._node, resource), record.to_json())]
        )
        if not result.succeeded:
            state.pending = previous
            return False
        self._changed(resource, record)
        return True

    async def count_failure(self, resource: str, operation: OperationName) -> None:
        state = self.of(resource)
        previous = state.failcounts.get(operation)
        record = FailcountRecord((previous.count if previous else 0) + 1, self._wall())
        state.failcounts[operation] = record
        await self._store.put(
            keys.failcount(self._cluster, self._node, resource, operation), record.to_json()
        )
        log.warning(
            "resource.failed", node=self._node, resource=resource, op=operation, count=record.count
        )

    async def forget_failures(self, resource: str, *, before: int) -> None:
        """Delete this node's failcounts of `resource` recorded before store revision
        `before` (a cleanup), each only if unchanged since read; a newer failure stays."""
        prefix = f"{keys.cluster_prefix(self._cluster)}failcounts/{self._node}/{resource}/"
        found, _ = await self._store.range(prefix)
        state = self.of(resource)
        for kv in found:
            if kv.mod_revision >= before:
                continue
            result = await self._store.txn(
                [Compare.unchanged(kv.key, kv.mod_revision)], [Delete(kv.key)]
            )
            if result.succeeded:
                state.failcounts.pop(kv.key[len(prefix) :], None)
                log.info("resource.failures_forgotten", node=self._node, resource=resource)

    async def load_failcounts(self) -> None:
        """Failcounts outlive agent restarts (they expire by failureTimeout, or cleanup)."""
        prefix = f"{keys.cluster_prefix(self._cluster)}failcounts/{self._node}/"
        found, _ = await self._store.range(prefix)
        for kv in found:
            resource, _, operation = kv.key[len(prefix) :].partition("/")
            self.of(resource).failcounts[operation] = FailcountRecord.from_json(kv.value)
