"""ClusterSnapshot: everything the scheduler decides on, declared and observed, in one value.

The scheduler is a pure function of a snapshot and a time (SPEC §4). Keeping its whole
input in one frozen, JSON-serializable value is what lets the leader save every input it
scheduled on and lets `hactl simulate FILE` replay it offline, the way Pacemaker keeps
its pe-input files. The node agent builds snapshots from the store; tests and
`hactl simulate` build them from files and flags.

Conventions the builder must follow (the scheduler trusts them):

- `nodes` lists every declared node. A declared node missing from it is of unknown
  state and is treated as lost and unclean: fenced when fencing is possible, never
  assumed empty.
- `unclean` means the node's state cannot be trusted: its lease expired without a clean
  shutdown, or a stop failed there. Once a fencing result is recorded the builder
  clears `unclean` (and `online`): the node is then known to run nothing.
- A failed start is recorded with a failcount of INFINITY (Pacemaker's
  start-failure-is-fatal), so the node is banned for that resource until the failure
  expires or is cleaned up.
- `promotion_scores` are the preferences promotable agents report (Pacemaker's
  crm_master). A node without a score counts as 0; an agent that must not be promoted
  on a node reports -INFINITY.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from reconciler.model.base import ScalarValue
from reconciler.model.declared import DeclaredState, Source
from reconciler.model.kinds import KINDS, Document, OpName
from reconciler.model.values import Score

ObservedRole = Literal["Started", "Promoted", "Unpromoted", "Stopped"]
OBSERVED_ROLES: tuple[ObservedRole, ...] = ("Started", "Promoted", "Unpromoted", "Stopped")
OP_NAMES: tuple[OpName, ...] = ("monitor", "start", "stop", "promote", "demote")


@dataclass(frozen=True, slots=True)
class NodeState:
    """What the cluster knows about one node right now.

    `standby`/`maintenance` of None mean "as declared in the Node manifest"; a value
    overrides it (an operator intent recorded at run time). `attributes` are transient
    node attributes (such as the connectivity check's `pingd`) and take precedence over
    declared attributes of the same name. `lost_at` is when its lease expired, if it did.
    """

    online: bool = True
    unclean: bool = False
    standby: bool | None = None
    maintenance: bool | None = None
    attributes: Mapping[str, ScalarValue] = field(default_factory=dict)
    lost_at: float | None = None


@dataclass(frozen=True, slots=True)
class ResourceInstance:
    """One instance of a resource observed on a node, in its last known role.

    `failed` names the operation whose failure left the instance in a failed state, if
    any: a failed monitor or start needs recovery, a failed stop leaves the instance's
    state unknown (only fencing can settle it).
    """

    resource: str
    node: str
    role: ObservedRole = "Started"
    failed: OpName | None = None

    @property
    def active(self) -> bool:
        """Possibly running: a role other than Stopped, or a stop that failed."""
        return self.role != "Stopped" or self.failed == "stop"


@dataclass(frozen=True, slots=True)
class Failcount:
    """Failures of one operation of a resource on a node; `last_failure` in epoch seconds."""

    resource: str
    node: str
    count: int
    last_failure: float
    operation: OpName = "monitor"


@dataclass(frozen=True)
class ClusterSnapshot:
    """The scheduler's whole input besides the time: declared state plus observed state."""

    declared: DeclaredState
    nodes: Mapping[str, NodeState] = field(default_factory=dict)
    resources: tuple[ResourceInstance, ...] = ()
    failcounts: tuple[Failcount, ...] = ()
    promotion_scores: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    quorum: bool = True
    maintenance: bool = False
    observed_at: float | None = None

    # --- serialization -------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready mapping; `from_dict(to_dict())` gives back an equal snapshot."""
        return {
            "declared": [_document_to_dict(doc) for doc in self.declared.documents],
            "sources": [
                {"kind": kind, "name": name, "file": src.file, "line": src.line}
                for (kind, name), src in sorted(self.declared.sources.items())
            ],
            **self.observed_to_dict(),
        }

    def observed_to_dict(self) -> dict[str, Any]:
        """The observed half alone: the format of a golden case's observed.yaml."""
        data: dict[str, Any] = {
            "quorum": self.quorum,
            "nodes": {name: _node_to_dict(state) for name, state in sorted(self.nodes.items())},
            "resources": [_instance_to_dict(inst) for inst in self.resources],
            "failcounts": [_failcount_to_dict(fc) for fc in self.failcounts],
            "promotionScores": {
                rsc: dict(sorted(scores.items()))
                for rsc, scores in sorted(self.promotion_scores.items())
            },
        }
        if self.maintenance:
            data["maintenance"] = True
        if self.observed_at is not None:
            data["observedAt"] = self.observed_at
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=1, sort_keys=False)

    @classmethod
    def from_json(cls, text: str) -> ClusterSnapshot:
        """Parse a saved snapshot; malformed input raises ValueError with the reason."""
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not JSON: {exc}") from exc
        return cls.from_dict(data)

    @classmethod
    def from_dict(cls, data: Any, *, declared: DeclaredState | None = None) -> ClusterSnapshot:
        """Build a snapshot from `to_dict()`'s shape.

        With `declared` given, `data` holds the observed half only (a golden case's
        observed.yaml, a hand-written observation): then declared nodes missing from
        `nodes` are online and clean, so a file only lists the exceptions.
        """
        if not isinstance(data, Mapping):
            raise ValueError("a snapshot is a mapping")
        if declared is None:
            declared = _declared_from(data)
            default_online = False
        else:
            if "declared" in data:
                raise ValueError("observed state must not carry its own declared documents")
            default_online = True
        nodes = {str(name): _node_from(name, raw) for name, raw in _mapping(data, "nodes").items()}
        if default_online:
            for name in declared.nodes:
                nodes.setdefault(name, NodeState())
        scores = {
            str(rsc): {
                str(node): _score(v, f"promotionScores.{rsc}.{node}")
                for node, v in _as_mapping(per_node, f"promotionScores.{rsc}").items()
            }
            for rsc, per_node in _mapping(data, "promotionScores").items()
        }
        return cls(
            declared=declared,
            nodes=nodes,
            resources=tuple(_instance_from(raw) for raw in _list(data, "resources")),
            failcounts=tuple(_failcount_from(raw) for raw in _list(data, "failcounts")),
            promotion_scores=scores,
            quorum=_bool(data.get("quorum", True), "quorum"),
            maintenance=_bool(data.get("maintenance", False), "maintenance"),
            observed_at=_optional_float(data.get("observedAt"), "observedAt"),
        )


# --- helpers: documents ------------------------------------------------------------


def _document_to_dict(doc: Document) -> dict[str, Any]:
    body = doc.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    return {"apiVersion": doc.api_version, "kind": doc.kind, **body}


def _declared_from(data: Mapping[str, Any]) -> DeclaredState:
    docs: list[Document] = []
    for raw in _list(data, "declared"):
        if not isinstance(raw, Mapping) or raw.get("kind") not in KINDS:
            raise ValueError(f"declared document of unknown kind: {_short(raw)}")
        docs.append(KINDS[raw["kind"]].model_validate(dict(raw)))
    sources = {}
    for raw in _list(data, "sources"):
        src = _as_mapping(raw, "sources[]")
        sources[(str(src["kind"]), str(src["name"]))] = Source(
            str(src["file"]), _int(src["line"], "sources[].line")
        )
    return DeclaredState.of(docs, sources)


# --- helpers: observed records -----------------------------------------------------


def _node_to_dict(state: NodeState) -> dict[str, Any]:
    data: dict[str, Any] = {"online": state.online}
    if state.unclean:
        data["unclean"] = True
    if state.standby is not None:
        data["standby"] = state.standby
    if state.maintenance is not None:
        data["maintenance"] = state.maintenance
    if state.attributes:
        data["attributes"] = dict(sorted(state.attributes.items()))
    if state.lost_at is not None:
        data["lostAt"] = state.lost_at
    return data


def _node_from(name: object, raw: object) -> NodeState:
    where = f"nodes.{name}"
    data = _as_mapping(raw if raw is not None else {}, where)
    _only_keys(
        data, {"online", "unclean", "standby", "maintenance", "attributes", "lostAt"}, where=where
    )
    attributes = _as_mapping(data.get("attributes", {}), f"{where}.attributes")
    for key, value in attributes.items():
        if not isinstance(value, str | int | float | bool):
            raise ValueError(f"{where}.attributes.{key}: a string, number or boolean")
    return NodeState(
        online=_bool(data.get("online", True), f"{where}.online"),
        unclean=_bool(data.get("unclean", False), f"{where}.unclean"),
        standby=_optional_bool(data.get("standby"), f"{where}.standby"),
        maintenance=_optional_bool(data.get("maintenance"), f"{where}.maintenance"),
        attributes={str(k): v for k, v in attributes.items()},
        lost_at=_optional_float(data.get("lostAt"), f"{where}.lostAt"),
    )


def _instance_to_dict(inst: ResourceInstance) -> dict[str, Any]:
    data: dict[str, Any] = {"resource": inst.resource, "node": inst.node, "role": inst.role}
    if inst.failed is not None:
        data["failed"] = inst.failed
    return data


def _instance_from(raw: object) -> ResourceInstance:
    data = _as_mapping(raw, "resources[]")
    _only_keys(data, {"resource", "node", "role", "failed"}, where="resources[]")
    role = data.get("role", "Started")
    if role not in OBSERVED_ROLES:
        raise ValueError(f"resources[]: role {role!r} is not one of {', '.join(OBSERVED_ROLES)}")
    failed = data.get("failed")
    if failed is not None and failed not in OP_NAMES:
        raise ValueError(f"resources[]: failed {failed!r} is not one of {', '.join(OP_NAMES)}")
    return ResourceInstance(
        resource=_str(data.get("resource"), "resources[].resource"),
        node=_str(data.get("node"), "resources[].node"),
        role=role,
        failed=failed,
    )


def _failcount_to_dict(fc: Failcount) -> dict[str, Any]:
    return {
        "resource": fc.resource,
        "node": fc.node,
        "operation": fc.operation,
        "count": fc.count,
        "lastFailure": fc.last_failure,
    }


def _failcount_from(raw: object) -> Failcount:
    data = _as_mapping(raw, "failcounts[]")
    _only_keys(
        data, {"resource", "node", "operation", "count", "lastFailure"}, where="failcounts[]"
    )
    operation = data.get("operation", "monitor")
    if operation not in OP_NAMES:
        raise ValueError(f"failcounts[]: operation {operation!r} is not one of {OP_NAMES}")
    return Failcount(
        resource=_str(data.get("resource"), "failcounts[].resource"),
        node=_str(data.get("node"), "failcounts[].node"),
        count=_score(data.get("count", 1), "failcounts[].count"),
        last_failure=_float(data.get("lastFailure", 0), "failcounts[].lastFailure"),
        operation=operation,
    )


# --- helpers: type checks with readable messages -------------------------------------


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _as_mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {_short(value)}")
    return value


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return _as_mapping(data.get(key) or {}, key)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key) or []
    if not isinstance(value, list):
        raise ValueError(f"{key}: expected a list, got {_short(value)}")
    return value


def _only_keys(data: Mapping[str, Any], allowed: set[str], *, where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(f"{where}: unknown field {unknown[0]!r}")


def _str(value: object, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}: expected a name, got {_short(value)}")
    return value


def _bool(value: object, where: str) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{where}: expected true or false, got {_short(value)}")
    return value


def _optional_bool(value: object, where: str) -> bool | None:
    return None if value is None else _bool(value, where)


def _int(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{where}: expected an integer, got {_short(value)}")
    return value


def _score(value: object, where: str) -> int:
    """An integer, or INFINITY/-INFINITY as in manifests (saturating at ±1,000,000)."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        try:
            return int(Score.parse(value))
        except ValueError:
            pass
    raise ValueError(f"{where}: expected an integer or ±INFINITY, got {_short(value)}")


def _float(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {_short(value)}")
    return float(value)


def _optional_float(value: object, where: str) -> float | None:
    return None if value is None else _float(value, where)
