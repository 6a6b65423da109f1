"""Operator intents: run-time decisions an operator records on top of the manifests.

`hactl node standby n1`, `hactl maintenance on`, `hactl resource move web --to n2 --for
1h`, … are not manifest objects: a GitOps pipeline owns the manifests and re-applies
them, and an apply must neither wipe an operator's standby nor fight it (a manifest
says `standby: false` because that is the node's *normal* state). Pacemaker keeps such
decisions as transient node attributes and `cli-prefer`/`cli-ban` constraints inside
the configuration, where they are easily forgotten. hactl keeps each one as a record
of its own under `intents/` in the store: who, when, until when, and what. Apply and
diff never touch that range; status, get and explain show it; the leader honours and
expires it. This module is the pure part: the record, its key name, and what the
active intents mean at a given time.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Literal, get_args

IntentKind = Literal[
    "standby", "maintenance", "cluster-maintenance", "move", "ban", "restart", "cleanup"
]
INTENT_KINDS: tuple[IntentKind, ...] = get_args(IntentKind)
NODE_KINDS: frozenset[IntentKind] = frozenset({"standby", "maintenance"})
RESOURCE_KINDS: frozenset[IntentKind] = frozenset({"move", "ban", "restart", "cleanup"})


class BadIntent(ValueError):
    """A record under `intents/` that cannot be read as an intent."""


@dataclass(frozen=True, slots=True)
class Intent:
    """One operator intent.

    `node` is the node a node intent is about, a move's target, a ban's node, or the
    one node a cleanup is limited to. `value` is the override a standby/maintenance
    intent sets (False: "not in standby, whatever the manifest says"). `at` and
    `until` are epoch seconds; `until` None means until cleared. `revision` is the
    store revision that created the record (filled when read, never stored): a cleanup
    forgets exactly the failures recorded before it.
    """

    kind: IntentKind
    by: str
    at: float
    node: str | None = None
    resource: str | None = None
    value: bool = True
    until: float | None = None
    revision: int = 0

    @property
    def name(self) -> str:
        """The record's key below `intents/`; one intent per kind and target."""
        match self.kind:
            case "standby" | "maintenance":
                return f"{self.kind}/{self.node}"
            case "cluster-maintenance":
                return "cluster-maintenance/cluster"
            case "ban" | "cleanup" if self.node is not None:
                return f"{self.kind}/{self.resource}/{self.node}"
            case _:
                return f"{self.kind}/{self.resource}"

    def expired(self, now: float) -> bool:
        return self.until is not None and now >= self.until

    def describe(self) -> str:
        """The intent in a few words, as status and events print it."""
        match self.kind:
            case "standby":
                return f"node {self.node} {'standby' if self.value else 'online'}"
            case "maintenance":
                return f"node {self.node} maintenance {'on' if self.value else 'off'}"
            case "cluster-maintenance":
                return "cluster maintenance on"
            case "move":
                return f"move {self.resource} to {self.node}"
            case "ban":
                return f"ban {self.resource} from {self.node}"
            case "restart":
                return f"restart {self.resource}"
            case _:
                where = f" on {self.node}" if self.node else ""
                return f"cleanup {self.resource}{where}"

    def as_dict(self) -> dict[str, object]:
        """JSON-ready, for `get intents` and `status -o json` (times as ISO 8601 too)."""
        data: dict[str, object] = {
            "name": self.name,
            "kind": self.kind,
            "what": self.describe(),
            "by": self.by,
            "at": iso(self.at),
            "until": iso(self.until) if self.until is not None else None,
        }
        if self.resource is not None:
            data["resource"] = self.resource
        if self.node is not None:
            data["node"] = self.node
        return data

    def to_json(self) -> bytes:
        body = asdict(self)
        body.pop("revision")
        return json.dumps(body, separators=(",", ":"), sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, *, revision: int = 0) -> Intent:
        try:
            body = json.loads(raw)
            kind = body["kind"]
            if kind not in INTENT_KINDS:
                raise BadIntent(f"unknown intent kind {kind!r}")
            until = body.get("until")
            return cls(
                kind=kind,
                by=str(body["by"]),
                at=float(body["at"]),
                node=_optional_str(body.get("node")),
                resource=_optional_str(body.get("resource")),
                value=bool(body.get("value", True)),
                until=None if until is None else float(until),
                revision=revision,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise BadIntent(f"unreadable intent: {exc}") from exc


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def provenance(intent: Mapping[str, object]) -> str:
    """Who recorded an intent, when, until when, from its `as_dict()`: `by alice at
    2026-11-25T10:00:00Z, until 11:00:00Z` (the date of `until` only when it differs)."""
    at = str(intent["at"]).replace("+00:00", "Z")
    text = f"by {intent['by']} at {at}"
    if intent.get("until"):
        until = str(intent["until"]).replace("+00:00", "Z")
        text += f", until {until[11:] if until[:10] == at[:10] else until}"
    return text


# --- what the active intents mean -------------------------------------------------


def active(intents: Iterable[Intent], now: float) -> list[Intent]:
    """The intents still in force at `now`, by name."""
    return sorted((i for i in intents if not i.expired(now)), key=lambda i: i.name)


def next_expiry(intents: Iterable[Intent], now: float) -> float | None:
    """When the next intent runs out (the leader schedules again then)."""
    ahead = [i.until for i in intents if i.until is not None and i.until > now]
    return min(ahead) if ahead else None


@dataclass(frozen=True, slots=True)
class NodeOverride:
    """Run-time standby/maintenance of one node; None: as the manifest declares."""

    standby: bool | None = None
    maintenance: bool | None = None


def node_overrides(intents: Iterable[Intent], now: float) -> dict[str, NodeOverride]:
    found: dict[str, NodeOverride] = {}
    for intent in active(intents, now):
        if intent.kind not in NODE_KINDS or intent.node is None:
            continue
        current = found.get(intent.node, NodeOverride())
        if intent.kind == "standby":
            found[intent.node] = NodeOverride(intent.value, current.maintenance)
        else:
            found[intent.node] = NodeOverride(current.standby, intent.value)
    return found


def cluster_maintenance(intents: Iterable[Intent], now: float) -> bool:
    return any(i.kind == "cluster-maintenance" for i in active(intents, now))


def by_resource(intents: Mapping[str, Intent], resource: str) -> list[Intent]:
    """The intents naming `resource` (expired ones included: the leader removes them)."""
    return sorted((i for i in intents.values() if i.resource == resource), key=lambda i: i.name)
