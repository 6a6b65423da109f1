"""The in-process store (`memory://`): the contract with nothing in the way.

It serves unit tests of the other layers, `hactl simulate`, and the contract suite as
its simplest reference. It keeps every revision until `compact`, so a watch can resume
from any revision, and it expires leases on an event-loop timer even when nobody calls
the store, because membership depends on keys vanishing on time. Its clock can be
injected: tests that advance a fake clock see due leases expire at the next call.

`check_writes` lives here too: both backends that apply transactions themselves
(memory and SQLite) reject the same malformed branches that etcd rejects.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field

import structlog

from reconciler.store.base import (
    Compacted,
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseLost,
    Put,
    StoreError,
    StoreStatus,
    StoreUnavailable,
    TxnResult,
    WatchEvent,
)

__all__ = ["MemoryStore", "check_writes"]

log = structlog.get_logger(__name__)


def check_writes(ops: Sequence[Put | Delete]) -> None:
    """Reject what etcd rejects: a branch that writes one key twice, an empty key, or a
    key that is not valid Unicode (etcd keys are UTF-8 bytes).

    Which of two writes to one key wins would otherwise depend on the backend."""
    puts = [op.key for op in ops if isinstance(op, Put)]
    deletes = [op for op in ops if isinstance(op, Delete)]
    if "" in puts or any(not op.key and not op.prefix for op in deletes):
        raise ValueError("store keys must not be empty")
    for op in ops:
        op.key.encode()  # UnicodeEncodeError (a ValueError) for lone surrogates
    if len(set(puts)) != len(puts):
        raise ValueError("a transaction may put a key only once")
    for op in deletes:
        if any(key.startswith(op.key) if op.prefix else key == op.key for key in puts):
            raise ValueError(f"a transaction may not both put and delete under {op.key!r}")


def _revision_of(event: WatchEvent) -> int:
    return event.revision


@dataclass(slots=True)
class _Lease:
    ttl: float
    deadline: float
    keys: set[str] = field(default_factory=set)
    timer: asyncio.TimerHandle | None = None


class MemoryStore:
    """The whole store in this process's memory; see the module docstring."""

    def __init__(self, *, name: str = "", clock: Callable[[], float] = time.monotonic) -> None:
        self._name = name
        self._clock = clock
        self._revision = 0
        self._compact_revision = 0
        self._kv: dict[str, KeyValue] = {}
        self._history: list[WatchEvent] = []
        self._leases: dict[int, _Lease] = {}
        self._lease_ids = itertools.count(1)
        self._changed = asyncio.Event()
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    async def get(self, key: str) -> KeyValue | None:
        await self._enter()
        return self._kv.get(key)

    async def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        await self._enter()
        keys = sorted(key for key in self._kv if key.startswith(prefix))
        return [self._kv[key] for key in keys], self._revision

    async def revision(self) -> int:
        await self._enter()
        return self._revision

    async def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Put | Delete],
        failure: Sequence[Put | Delete] = (),
    ) -> TxnResult:
        check_writes(success)
        check_writes(failure)
        await self._enter()
        succeeded = all(compare.holds_for(self._kv.get(compare.key)) for compare in compares)
        ops = success if succeeded else failure
        for op in ops:
            if isinstance(op, Put) and op.lease and op.lease not in self._leases:
                raise LeaseLost(f"lease {op.lease} expired or was revoked")
        return TxnResult(succeeded, self._commit(ops))

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> int:
        return (await self.txn((), (Put(key, value, lease),))).revision

    async def delete(self, key: str, *, prefix: bool = False) -> int:
        return (await self.txn((), (Delete(key, prefix),))).revision

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchEvent]:
        return self._watch(prefix, start_revision)

    async def grant_lease(self, ttl: float) -> int:
        if ttl <= 0:
            raise ValueError(f"a lease needs a positive TTL, not {ttl}")
        await self._enter()
        lease_id = next(self._lease_ids)
        self._leases[lease_id] = _Lease(ttl, self._clock() + ttl)
        self._arm(lease_id)
        return lease_id

    async def refresh_lease(self, lease: int) -> float:
        await self._enter()
        held = self._held(lease)
        held.deadline = self._clock() + held.ttl
        self._arm(lease)
        return held.ttl

    async def revoke_lease(self, lease: int) -> None:
        await self._enter()
        if lease in self._leases:
            self._end_lease(lease)

    async def lease_ttl(self, lease: int) -> float:
        await self._enter()
        return max(0.0, self._held(lease).deadline - self._clock())

    async def compact(self, revision: int) -> None:
        await self._enter()
        if revision > self._revision:
            raise StoreError(f"cannot compact to revision {revision}: store is at {self._revision}")
        if revision > self._compact_revision:
            del self._history[: bisect.bisect_left(self._history, revision, key=_revision_of)]
            self._compact_revision = revision

    async def status(self) -> StoreStatus:
        await self._enter()
        return StoreStatus(
            backend="memory",
            endpoint=f"memory://{self._name}",
            revision=self._revision,
            details={
                "compact_revision": str(self._compact_revision),
                "keys": str(len(self._kv)),
                "leases": str(len(self._leases)),
            },
        )

    async def close(self) -> None:
        """Stop the lease timers and end every watch (they raise StoreUnavailable)."""
        if self._closed:
            return
        self._closed = True
        for lease in self._leases.values():
            if lease.timer:
                lease.timer.cancel()
        self._notify()

    async def _enter(self) -> None:
        """Start every call like real I/O would: yield to the loop once, so callers'
        interleavings get exercised, then refuse a closed store and expire due leases."""
        await asyncio.sleep(0)
        if self._closed:
            raise StoreUnavailable(f"store memory://{self._name} is closed")
        self._expire_due()

    async def _watch(self, prefix: str, next_revision: int) -> AsyncIterator[WatchEvent]:
        # Everything between reading the history and picking the event to wait on is
        # synchronous, so no commit can slip in between: no gap, no duplicate.
        while True:
            await self._enter()
            if next_revision < self._compact_revision:
                raise Compacted(next_revision, self._compact_revision)
            changed = self._changed
            start = bisect.bisect_left(self._history, next_revision, key=_revision_of)
            batch = [event for event in self._history[start:] if event.key.startswith(prefix)]
            next_revision = max(next_revision, self._revision + 1)
            for event in batch:
                yield event
            if not batch:
                await changed.wait()

    def _commit(self, ops: Sequence[Put | Delete]) -> int:
        """Apply `ops` at one new revision; returns the store's revision afterwards."""
        revision = self._revision + 1
        events: list[WatchEvent] = []
        for op in ops:
            if isinstance(op, Put):
                events.append(self._put_at(op, revision))
            else:
                events.extend(self._delete_at(key, revision) for key in self._matching(op))
        if events:
            self._revision = revision
            self._history.extend(events)
            self._notify()
        return self._revision

    def _matching(self, op: Delete) -> list[str]:
        if op.prefix:
            return sorted(key for key in self._kv if key.startswith(op.key))
        return [op.key] if op.key in self._kv else []

    def _put_at(self, op: Put, revision: int) -> WatchEvent:
        old = self._kv.get(op.key)
        if old and old.lease:
            self._leases[old.lease].keys.discard(op.key)
        if op.lease:
            self._leases[op.lease].keys.add(op.key)
        self._kv[op.key] = KeyValue(
            key=op.key,
            value=op.value,
            create_revision=old.create_revision if old else revision,
            mod_revision=revision,
            version=old.version + 1 if old else 1,
            lease=op.lease,
        )
        return WatchEvent(EventType.PUT, op.key, op.value, revision)

    def _delete_at(self, key: str, revision: int) -> WatchEvent:
        old = self._kv.pop(key)
        if old.lease:
            self._leases[old.lease].keys.discard(key)
        return WatchEvent(EventType.DELETE, key, b"", revision)

    def _held(self, lease: int) -> _Lease:
        held = self._leases.get(lease)
        if held is None:
            raise LeaseLost(f"lease {lease} expired or was revoked")
        return held

    def _end_lease(self, lease: int) -> None:
        """Delete the lease's keys at one revision (as etcd's revoke does), then the lease."""
        self._commit([Delete(key) for key in sorted(self._leases[lease].keys)])
        timer = self._leases.pop(lease).timer
        if timer:
            timer.cancel()

    def _expire_due(self) -> None:
        now = self._clock()
        for lease, held in list(self._leases.items()):
            if held.deadline <= now:
                log.info("store.lease.expired", backend="memory", lease=lease, keys=len(held.keys))
                self._end_lease(lease)

    def _arm(self, lease: int) -> None:
        """(Re)start the timer that expires the lease even if nobody calls the store."""
        held = self._leases[lease]
        if held.timer:
            held.timer.cancel()
        delay = max(0.0, held.deadline - self._clock())
        held.timer = asyncio.get_running_loop().call_later(delay, self._on_timer, lease)

    def _on_timer(self, lease: int) -> None:
        if self._closed:
            return
        self._expire_due()
        if lease in self._leases:  # fired early, or an injected clock has not got there yet
            self._arm(lease)

    def _notify(self) -> None:
        """Wake every watch waiting for a change."""
        self._changed.set()
        self._changed = asyncio.Event()
