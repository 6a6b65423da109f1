"""The manifest kinds of SPEC §2, as frozen pydantic models.

Each kind is a document `{apiVersion, kind, metadata, spec}`; the spec models hold
only declarations, never observed state. Defaults follow Pacemaker where the
two traditions agree and heartbeat where only heartbeat has the notion; each is
explained in docs/manifests.md.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from reconciler.model.base import (
    API_VERSION,
    AttributeName,
    Metadata,
    Name,
    ParamName,
    ScalarValue,
    Strict,
    Text,
)
from reconciler.model.values import Duration, Score

OnFail = Literal["restart", "block", "stop", "fence", "ignore"]
Role = Literal["Started", "Stopped", "Promoted", "Unpromoted"]
TargetRole = Literal["Started", "Stopped", "Promoted"]
NoQuorumPolicy = Literal["stop", "freeze", "ignore"]
RuleOp = Literal["lt", "lte", "gt", "gte", "eq", "ne", "defined", "not_defined"]
OpName = Literal["monitor", "start", "stop", "promote", "demote"]
OrderKind = Literal["Mandatory", "Optional"]
OrderAction = Literal["start", "stop", "promote", "demote"]

PositiveInt = Annotated[int, Field(ge=1, le=1_000_000)]


# --- Cluster -------------------------------------------------------------------------


class Timing(Strict):
    """Heartbeat's membership timers (ha.cf keepalive/warntime/deadtime/initdeadtime)."""

    keepalive: Duration = Duration(1000)
    warntime: Duration = Duration(2000)
    deadtime: Duration = Duration(3000)
    initdeadtime: Duration = Duration(10_000)


class Stonith(Strict):
    enabled: bool = True
    watchdog_timeout: Duration = Duration(0)


class ResourceDefaults(Strict):
    stickiness: Score = Score(0)
    migration_threshold: Annotated[int, Field(ge=0)] = 1_000_000
    failure_timeout: Duration = Duration(0)


class Connectivity(Strict):
    """Heartbeat's ping nodes + ipfail: reachable targets become a node attribute."""

    targets: Annotated[list[Text], Field(min_length=1, max_length=64)]
    interval: Duration = Duration(2000)
    attribute: AttributeName = "pingd"
    multiplier: Annotated[int, Field(ge=1, le=1_000_000)] = 1
    port: Annotated[int, Field(ge=1, le=65535)] | None = None
    dampen: Duration = Duration(5000)


class ClusterSpec(Strict):
    timing: Timing = Timing()
    auto_failback: bool = True
    stonith: Stonith = Stonith()
    no_quorum_policy: NoQuorumPolicy = "stop"
    defaults: ResourceDefaults = ResourceDefaults()
    connectivity: Connectivity | None = None

    @model_validator(mode="after")
    def _timers_are_ordered(self) -> ClusterSpec:
        t = self.timing
        if t.deadtime <= t.keepalive:
            raise ValueError(
                f"timing.deadtime ({t.deadtime}) must be greater than timing.keepalive "
                f"({t.keepalive})"
            )
        if not t.keepalive <= t.warntime <= t.deadtime:
            raise ValueError(
                f"timing.warntime ({t.warntime}) must lie between keepalive ({t.keepalive}) "
                f"and deadtime ({t.deadtime})"
            )
        if t.initdeadtime < t.deadtime:
            raise ValueError(
                f"timing.initdeadtime ({t.initdeadtime}) must be at least deadtime ({t.deadtime})"
            )
        if t.keepalive.milliseconds < 10:
            raise ValueError("timing.keepalive must be at least 10ms")
        return self


# --- Node ----------------------------------------------------------------------------


class NodeSpec(Strict):
    attributes: dict[AttributeName, ScalarValue] = Field(default_factory=dict)
    standby: bool = False
    maintenance: bool = False


# --- Resource ------------------------------------------------------------------------

AGENT_PATTERN = (
    r"^(ocf:[A-Za-z0-9][-A-Za-z0-9_.]*:[A-Za-z0-9][-A-Za-z0-9_.]*"
    r"|lsb:[A-Za-z0-9][-A-Za-z0-9_.@]*"
    r"|hactl:[A-Za-z0-9][-A-Za-z0-9_.]*)$"
)


class Operation(Strict):
    name: OpName
    interval: Duration = Duration(0)
    timeout: Duration = Duration(20_000)
    on_fail: OnFail | None = None
    role: Literal["Promoted", "Unpromoted"] | None = None

    @model_validator(mode="after")
    def _interval_only_for_monitor(self) -> Operation:
        if self.name != "monitor" and self.interval.milliseconds:
            raise ValueError(f"only monitor has an interval, not {self.name}")
        if self.timeout.milliseconds == 0:
            raise ValueError("timeout must be greater than 0")
        return self


class ResourceMeta(Strict):
    stickiness: Score | None = None
    migration_threshold: Annotated[int, Field(ge=0)] | None = None
    failure_timeout: Duration | None = None
    target_role: TargetRole = "Started"


class Clone(Strict):
    """Replicated resource (Pacemaker clone); promotable for primary/secondary pairs."""

    max: PositiveInt | None = None
    per_node: PositiveInt = 1
    promotable: bool = False
    promoted_max: PositiveInt = 1
    promoted_per_node: PositiveInt = 1


class ResourceSpec(Strict):
    agent: Annotated[str, Field(pattern=AGENT_PATTERN, max_length=256)]
    params: dict[ParamName, ScalarValue] = Field(default_factory=dict)
    ops: list[Operation] = Field(default_factory=list)
    meta: ResourceMeta = ResourceMeta()
    clone: Clone | None = None

    @model_validator(mode="after")
    def _ops_are_unique(self) -> ResourceSpec:
        seen: set[tuple[str, int, str | None]] = set()
        for op in self.ops:
            key = (op.name, op.interval.milliseconds, op.role)
            if key in seen:
                raise ValueError(f"operation {op.name} (interval {op.interval}) is declared twice")
            seen.add(key)
        if self.meta.target_role == "Promoted" and not (self.clone and self.clone.promotable):
            raise ValueError("meta.targetRole Promoted needs a promotable clone")
        return self


# --- Group ---------------------------------------------------------------------------


class GroupSpec(Strict):
    resources: Annotated[list[Name], Field(min_length=1)]
    meta: ResourceMeta = ResourceMeta()

    @model_validator(mode="after")
    def _members_are_unique(self) -> GroupSpec:
        if len(set(self.resources)) != len(self.resources):
            raise ValueError("a group lists the same resource twice")
        if self.meta.target_role == "Promoted":
            raise ValueError("a group cannot be Promoted")
        return self


# --- Constraints ---------------------------------------------------------------------


class Rule(Strict):
    """One expression over a node attribute and the score it adds where it holds.

    `scoreAttribute` instead of `score` adds the value of that node attribute
    (Pacemaker's score-attribute, e.g. scores proportional to pingd).
    """

    attribute: AttributeName
    op: RuleOp
    value: ScalarValue | None = None
    score: Score | None = None
    score_attribute: AttributeName | None = None

    @model_validator(mode="after")
    def _shape(self) -> Rule:
        if (self.score is None) == (self.score_attribute is None):
            raise ValueError("a rule needs exactly one of score or scoreAttribute")
        if self.op in ("defined", "not_defined"):
            if self.value is not None:
                raise ValueError(f"op {self.op} takes no value")
        elif self.value is None:
            raise ValueError(f"op {self.op} needs a value")
        return self


class LocationSpec(Strict):
    resource: Name
    node: Name | None = None
    score: Score | None = None
    rules: list[Rule] | None = None
    role: Literal["Started", "Promoted"] | None = None

    @model_validator(mode="after")
    def _node_or_rules(self) -> LocationSpec:
        if self.node is not None and self.rules is not None:
            raise ValueError("a location has either node and score, or rules, not both")
        if self.node is None and not self.rules:
            raise ValueError("a location needs node and score, or rules")
        if self.node is not None and self.score is None:
            raise ValueError("a location with a node needs a score")
        if self.rules is not None and self.score is not None:
            raise ValueError("with rules, each rule carries its own score")
        return self


class ColocationSpec(Strict):
    resource: Name
    with_: Annotated[Name, Field(alias="with")]
    score: Score
    role: Literal["Started", "Promoted", "Unpromoted"] | None = None
    with_role: Literal["Started", "Promoted", "Unpromoted"] | None = None

    @model_validator(mode="after")
    def _not_self(self) -> ColocationSpec:
        if self.resource == self.with_:
            raise ValueError("a resource cannot be colocated with itself")
        return self


class OrderSpec(Strict):
    first: Name
    then: Name
    kind: OrderKind = "Mandatory"
    symmetrical: bool = True
    first_action: OrderAction = "start"
    then_action: OrderAction = "start"

    @model_validator(mode="after")
    def _not_self(self) -> OrderSpec:
        if self.first == self.then:
            raise ValueError("a resource cannot be ordered after itself")
        return self


# --- FenceDevice ---------------------------------------------------------------------


class FenceDeviceSpec(Strict):
    driver: Annotated[str, Field(pattern=r"^[A-Za-z0-9][-A-Za-z0-9_.]{0,127}$")]
    params: dict[ParamName, ScalarValue] = Field(default_factory=dict)
    nodes: Annotated[list[Name], Field(min_length=1)]
    level: Annotated[int, Field(ge=1, le=9)] = 1
    timeout: Duration = Duration(60_000)


# --- Documents -----------------------------------------------------------------------


class _Document(Strict):
    api_version: Literal["hactl/v1alpha1"] = Field(default=API_VERSION, alias="apiVersion")
    metadata: Metadata


class Cluster(_Document):
    kind: Literal["Cluster"] = "Cluster"
    spec: ClusterSpec = ClusterSpec()


class Node(_Document):
    kind: Literal["Node"] = "Node"
    spec: NodeSpec = NodeSpec()


class Resource(_Document):
    kind: Literal["Resource"] = "Resource"
    spec: ResourceSpec


class Group(_Document):
    kind: Literal["Group"] = "Group"
    spec: GroupSpec


class Location(_Document):
    kind: Literal["Location"] = "Location"
    spec: LocationSpec


class Colocation(_Document):
    kind: Literal["Colocation"] = "Colocation"
    spec: ColocationSpec


class Order(_Document):
    kind: Literal["Order"] = "Order"
    spec: OrderSpec


class FenceDevice(_Document):
    kind: Literal["FenceDevice"] = "FenceDevice"
    spec: FenceDeviceSpec


Document = Cluster | Node | Resource | Group | Location | Colocation | Order | FenceDevice

KINDS: dict[str, type[Document]] = {
    model.model_fields["kind"].default: model
    for model in (Cluster, Node, Resource, Group, Location, Colocation, Order, FenceDevice)
}
"""Every kind by its name, in the order documents are listed and applied."""
