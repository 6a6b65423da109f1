"""The runtime records agents and the leader keep in the store, as small JSON values.

Each record names the incarnation (one run of a node's agent) that wrote it or that
it is about: observed state is only believed for the node's current incarnation, and
a fencing record only clears the incarnation it ended.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Literal, TypeVar

from reconciler.snapshot import ObservedRole

R = TypeVar("R")

OperationName = Literal["monitor", "start", "stop", "promote", "demote"]


def _encode(record: Any) -> bytes:
    return json.dumps(asdict(record), separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class Incarnation:
    """One run of a node's agent: written when it joins, kept after it is gone."""

    incarnation: str
    joined_at: float
    watchdog: float = 0.0
    """Seconds this run's watchdog waits for a pet before it self-fences the node; 0: it
    runs none (watchdog fencing is impossible for it, whatever the cluster declares now)."""

    def to_json(self) -> bytes:
        return _encode(self)

    @classmethod
    def from_json(cls, raw: bytes) -> Incarnation:
        body = json.loads(raw)
        return cls(
            str(body["incarnation"]), float(body["joined_at"]), float(body.get("watchdog", 0.0))
        )


@dataclass(frozen=True, slots=True)
class CleanShutdown:
    """The agent stopped every resource of this incarnation before it left."""

    incarnation: str
    at: float

    def to_json(self) -> bytes:
        return _encode(self)

    @classmethod
    def from_json(cls, raw: bytes) -> CleanShutdown:
        body = json.loads(raw)
        return cls(str(body["incarnation"]), float(body["at"]))


@dataclass(frozen=True, slots=True)
class FenceRecord:
    """A node was fenced: the incarnation it ended, when, how, and by whom."""

    incarnation: str
    at: float
    device: str
    action: str
    by: str

    def to_json(self) -> bytes:
        return _encode(self)

    @classmethod
    def from_json(cls, raw: bytes) -> FenceRecord:
        body = json.loads(raw)
        return cls(
            str(body["incarnation"]),
            float(body["at"]),
            str(body["device"]),
            str(body["action"]),
            str(body["by"]),
        )


@dataclass(frozen=True, slots=True)
class Observed:
    """A resource's state on a node, as that node's agent last saw it.

    `pending` names an action the agent has begun and not finished: a pending start
    or promote counts as already done for every safety decision, because the agent
    may be a moment from finishing it."""

    incarnation: str
    role: ObservedRole
    failed: OperationName | None
    rc: int
    at: float
    pending: OperationName | None = None

    def to_json(self) -> bytes:
        return _encode(self)

    @classmethod
    def from_json(cls, raw: bytes) -> Observed:
        body = json.loads(raw)
        return cls(
            str(body["incarnation"]),
            body["role"],
            body.get("failed"),
            int(body["rc"]),
            float(body["at"]),
            body.get("pending"),
        )

    @property
    def possibly_active(self) -> bool:
        """Might be running here: active role, a pending start/promote, or a failed stop."""
        return (
            self.role != "Stopped" or self.pending in ("start", "promote") or self.failed == "stop"
        )

    @property
    def possibly_promoted(self) -> bool:
        return self.role == "Promoted" or self.pending == "promote"


@dataclass(frozen=True, slots=True)
class FailcountRecord:
    count: int
    last_failure: float

    def to_json(self) -> bytes:
        return _encode(self)

    @classmethod
    def from_json(cls, raw: bytes) -> FailcountRecord:
        body = json.loads(raw)
        return cls(int(body["count"]), float(body["last_failure"]))
