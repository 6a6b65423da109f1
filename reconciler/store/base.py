"""The store contract: a small etcd-shaped key-value interface every backend implements.

hactl keeps all shared state (declared objects, history, leases, decisions, observed
state) in one store. Backends: `memory://` (one process), `sqlite:///path` (one
machine, many processes) and `etcd://…` (a real cluster). The contract follows etcd
v3 because that is the strongest backend and the others can emulate it exactly:

- every change gets a store-wide, strictly increasing revision;
- a transaction compares keys' revisions/values and then applies puts and deletes
  atomically (compare-and-set); a lost compare re-observes, never blind-retries;
- a watch streams every change under a prefix after a given revision, in revision
  order, exactly once, and can resume from the last revision it delivered;
- a lease has a TTL; when it is not refreshed in time it expires and every key
  attached to it is deleted (with delete events), which is how membership works.

Keys and values are `str` and `bytes`. Keys are '/'-separated paths.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Literal, Protocol, runtime_checkable

from reconciler.errors import HactlError, StoreUnavailable

__all__ = [
    "Compacted",
    "Compare",
    "Delete",
    "EventType",
    "KeyValue",
    "LeaseLost",
    "Put",
    "Store",
    "StoreError",
    "StoreStatus",
    "StoreUnavailable",
    "TxnResult",
    "WatchEvent",
]


class StoreError(HactlError):
    """A store operation failed for a reason that is not the network."""


class LeaseLost(StoreError):
    """The lease expired or was revoked: whoever held it must stop acting on it now."""


class Compacted(StoreError):
    """A watch asked for revisions the store no longer keeps; re-list, then watch again."""

    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(
            f"revision {requested} was compacted (store keeps revisions from {compact_revision} on)"
        )
        self.requested = requested
        self.compact_revision = compact_revision


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    create_revision: int
    mod_revision: int
    version: int
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Compare:
    """One condition of a transaction, on a key's current state.

    `target` is what is compared: 'mod' (mod_revision), 'create' (create_revision),
    'version' (number of puts since creation; 0 = absent), 'value' or 'lease'.
    A key that does not exist has mod = create = version = lease = 0 and value b''.
    """

    key: str
    target: Literal["mod", "create", "version", "value", "lease"]
    op: Literal["==", "!=", "<", ">"]
    operand: int | bytes

    @classmethod
    def absent(cls, key: str) -> Compare:
        return cls(key, "version", "==", 0)

    @classmethod
    def unchanged(cls, key: str, mod_revision: int) -> Compare:
        """The key is still at this revision (0: still absent)."""
        return cls(key, "mod", "==", mod_revision)

    @classmethod
    def value_is(cls, key: str, value: bytes) -> Compare:
        return cls(key, "value", "==", value)

    def holds_for(self, kv: KeyValue | None) -> bool:
        """Whether the condition holds for the key's current state (None: absent)."""
        current: int | bytes
        if self.target == "value":
            current = kv.value if kv else b""
        else:
            current = {
                "mod": kv.mod_revision if kv else 0,
                "create": kv.create_revision if kv else 0,
                "version": kv.version if kv else 0,
                "lease": kv.lease if kv else 0,
            }[self.target]
        if type(current) is not type(self.operand):
            raise TypeError(f"compare {self.target} needs {type(current).__name__}")
        match self.op:
            case "==":
                return current == self.operand
            case "!=":
                return current != self.operand
            case "<":
                return current < self.operand  # type: ignore[operator]
            case ">":
                return current > self.operand  # type: ignore[operator]


@dataclass(frozen=True, slots=True)
class Put:
    key: str
    value: bytes
    lease: int = 0


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete one key, or with `prefix=True` every key under it."""

    key: str
    prefix: bool = False


@dataclass(frozen=True, slots=True)
class TxnResult:
    succeeded: bool
    revision: int
    """The store's revision after the transaction (unchanged when nothing was written)."""


class EventType(Enum):
    PUT = "put"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class WatchEvent:
    type: EventType
    key: str
    value: bytes
    """The new value (PUT), or b'' (DELETE)."""
    revision: int
    """The revision of the change that produced this event."""


@dataclass(frozen=True, slots=True)
class StoreStatus:
    backend: str
    endpoint: str
    revision: int
    members: list[dict[str, str]] = field(default_factory=list)
    leader: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@runtime_checkable
class Store(Protocol):
    """The store contract; see the module docstring. Every method may raise
    StoreUnavailable when the store cannot be reached before the backend's deadline."""

    async def get(self, key: str) -> KeyValue | None:
        """The key's current value, or None."""
        ...

    async def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        """Every key under `prefix`, sorted by key, and the revision they were read at."""
        ...

    async def revision(self) -> int:
        """The store's current revision (0 for a new embedded store, 1 for a fresh etcd)."""
        ...

    async def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Put | Delete],
        failure: Sequence[Put | Delete] = (),
    ) -> TxnResult:
        """If every compare holds, apply `success`, else `failure`; atomically.

        All writes of one transaction share one new revision. A transaction that
        writes nothing does not advance the revision. Raises LeaseLost when a Put
        names a lease that does not exist (any more)."""
        ...

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> int:
        """Unconditional put; returns the new revision."""
        ...

    async def delete(self, key: str, *, prefix: bool = False) -> int:
        """Unconditional delete; returns the store's revision afterwards."""
        ...

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchEvent]:
        """Every change under `prefix` with revision >= start_revision, in order, forever.

        Raises Compacted when start_revision is older than the store keeps."""
        ...

    async def grant_lease(self, ttl: float) -> int:
        """A new lease of `ttl` seconds; returns its id (never 0)."""
        ...

    async def refresh_lease(self, lease: int) -> float:
        """Restart the lease's TTL; returns the TTL granted. Raises LeaseLost if expired."""
        ...

    async def revoke_lease(self, lease: int) -> None:
        """End the lease now, deleting its keys. Revoking a lost lease is not an error."""
        ...

    async def lease_ttl(self, lease: int) -> float:
        """Seconds left on the lease; raises LeaseLost when it is gone."""
        ...

    async def compact(self, revision: int) -> None:
        """Forget the history before `revision` (watches from older revisions fail)."""
        ...

    async def status(self) -> StoreStatus: ...

    async def close(self) -> None: ...
