"""The cluster's event stream: what it did, in the order the store saw it.

Membership changes, fencing, starts/stops with their results, operator intents: each
is one small record under `/hactl/<cluster>/events/<writer>/<slot>`. Every writer (a
node's reconciler, a node's leader loop, the operators' commands) owns a ring of
`RING` slots and overwrites its oldest, so the history is bounded without anybody
having to trim it, and writers never contend with each other. The store's revision of
each record is the stream's total order (`hactl events` sorts by it, `--follow`
watches it); a record's `seq` orders one writer's records and finds its next slot
after a restart.

Writing an event must never hurt what it reports on: a failed write is logged and
dropped, and the leader does not wake for event writes (leader.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import structlog

from reconciler import keys
from reconciler.errors import HactlError
from reconciler.intents import iso
from reconciler.store.base import Compare, KeyValue, Put, Store

log = structlog.get_logger(__name__)

RING = 512
"""Records kept per writer."""
BATCH = 32
"""Events per transaction: with their compares well inside etcd's 128 operations."""
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Event:
    """One thing the cluster did. `kind` is dotted (`action.start`, `member.lost`,
    `fence.succeeded`, `intent.recorded`, …); `ok` is False for a failure."""

    kind: str
    message: str
    at: float
    writer: str = ""
    seq: int = 0
    node: str | None = None
    resource: str | None = None
    ok: bool = True
    details: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    """The store revision of the record (filled when read, never stored)."""

    def to_json(self) -> bytes:
        body = asdict(self)
        body.pop("revision")
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, *, revision: int = 0) -> Event:
        body = json.loads(raw)
        return cls(
            kind=str(body["kind"]),
            message=str(body["message"]),
            at=float(body["at"]),
            writer=str(body.get("writer", "")),
            seq=int(body.get("seq", 0)),
            node=body.get("node"),
            resource=body.get("resource"),
            ok=bool(body.get("ok", True)),
            details=dict(body.get("details") or {}),
            revision=revision,
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["time"] = iso(self.at)
        return {k: v for k, v in data.items() if v not in (None, {})}

    def line(self) -> str:
        mark = "" if self.ok else " FAILED"
        return f"{iso(self.at)}  {self.kind:<18} {self.message}{mark}"


def _readable(kv: KeyValue) -> Event | None:
    try:
        return Event.from_json(kv.value, revision=kv.mod_revision)
    except (ValueError, KeyError, TypeError):
        return None


async def read_events(store: Store, cluster: str) -> tuple[list[Event], int]:
    """Every kept event in the store's order, and the revision they were read at."""
    found, revision = await store.range(keys.events_prefix(cluster))
    events = [e for e in (_readable(kv) for kv in found) if e is not None]
    return sorted(events, key=lambda e: e.revision), revision


class EventLog:
    """One writer's ring. `emit` never raises and never waits behind other events.

    Group commit: events emitted while a write is in flight are buffered, and the
    emitter that started the write writes them next, up to BATCH per transaction.
    A node starting hundreds of resources at once thus writes a few transactions, not
    hundreds of contending ones."""

    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        writer: str,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._writer = writer
        self._wall = wall
        self._next: int | None = None
        self._slots: dict[int, int] = {}
        """Slot → mod revision as last seen (0: empty), for compare-and-set."""
        self._buffer: list[Event] = []
        self._flushing = False

    async def _load(self) -> None:
        prefix = keys.event_ring(self._cluster, self._writer)
        found, _ = await self._store.range(prefix)
        last = -1
        self._slots = {}
        for kv in found:
            slot = kv.key[len(prefix) :]
            if slot.isdigit():
                self._slots[int(slot)] = kv.mod_revision
                event = _readable(kv)
                if event is not None:
                    last = max(last, event.seq)
        self._next = last + 1

    async def emit(
        self,
        kind: str,
        message: str,
        *,
        node: str | None = None,
        resource: str | None = None,
        ok: bool = True,
        **details: Any,
    ) -> None:
        event = Event(
            kind=kind,
            message=message,
            at=self._wall(),
            writer=self._writer,
            node=node,
            resource=resource,
            ok=ok,
            details=details,
        )
        self._buffer.append(event)
        if self._flushing:
            return  # the write in flight takes this one next
        self._flushing = True
        try:
            while self._buffer:
                batch, self._buffer = self._buffer[:BATCH], self._buffer[BATCH:]
                try:
                    await self._write(batch)
                except (HactlError, OSError) as exc:
                    log.warning("events.write_failed", kind=kind, error=str(exc))
        finally:
            self._flushing = False

    async def _write(self, batch: list[Event]) -> None:
        for _ in range(ATTEMPTS):
            if self._next is None:
                await self._load()
            assert self._next is not None
            first = self._next
            compares, puts = [], []
            for offset, event in enumerate(batch):
                seq = first + offset
                key = keys.event(self._cluster, self._writer, seq % RING)
                compares.append(Compare.unchanged(key, self._slots.get(seq % RING, 0)))
                puts.append(Put(key, replace(event, seq=seq).to_json()))
            result = await self._store.txn(compares, puts)
            if result.succeeded:
                self._next = first + len(batch)
                for offset in range(len(batch)):
                    self._slots[(first + offset) % RING] = result.revision
                return
            self._next = None  # another process writes this ring too (operators): reload
        log.warning("events.dropped", writer=self._writer, count=len(batch))


# --- what changed in membership (pure) ----------------------------------------------

MemberState = str
"""online | left (clean shutdown) | fenced | lost (unclean) | absent (never joined)."""

_MEMBER_EVENTS = {
    "online": ("member.joined", "{node} joined"),
    "left": ("member.left", "{node} left cleanly"),
    "lost": ("member.lost", "{node} was lost (its lease expired without a clean shutdown)"),
}


def membership_changes(
    before: dict[str, MemberState], after: dict[str, MemberState]
) -> list[tuple[str, str, str]]:
    """(kind, node, message) for each node whose membership state changed; fencing is
    reported where it happens, not here."""
    changes = []
    for node, state in sorted(after.items()):
        if before.get(node, "absent") == state or state not in _MEMBER_EVENTS:
            continue
        kind, text = _MEMBER_EVENTS[state]
        changes.append((kind, node, text.format(node=node)))
    return changes
