"""The snapshot, indexed once for the rest of the pipeline.

Every later stage asks the same questions many times (which constraints name this
resource, which group is it in, what is its effective stickiness, may this node run
anything). Answering them from precomputed indexes keeps the scheduler linear in the
size of the configuration instead of resources x constraints.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from reconciler.model.base import ScalarValue
from reconciler.model.kinds import Colocation, Location, Order, Resource
from reconciler.snapshot import ClusterSnapshot

UnitKind = Literal["primitive", "group", "clone"]


@dataclass(frozen=True, slots=True)
class NodeView:
    """One node as the scheduler sees it: declared settings with run-time overrides applied."""

    name: str
    online: bool
    unclean: bool
    standby: bool
    maintenance: bool
    known: bool

    @property
    def available(self) -> bool:
        """May take resources: a clean member, not in standby or maintenance."""
        return self.online and not self.unclean and not self.standby and not self.maintenance


@dataclass(frozen=True, slots=True)
class Unit:
    """What is placed as one piece: a primitive, a group (its members in order), a clone."""

    name: str
    kind: UnitKind
    members: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Meta:
    """A primitive's effective meta: its own, else its group's, else the cluster default."""

    stickiness: int
    stickiness_source: tuple[str, str]
    migration_threshold: int
    failure_timeout: float
    stopped: bool


@dataclass(frozen=True, slots=True)
class QuorumPolicy:
    """What the partition may do: SPEC's noQuorumPolicy applied to the quorum we have."""

    can_fence: bool
    may_start: bool
    stop_all: bool


class Inputs:
    """The snapshot plus every index the pipeline needs; read-only after construction."""

    def __init__(self, snapshot: ClusterSnapshot, now: float) -> None:
        declared = snapshot.declared
        self.snapshot = snapshot
        self.now = now
        self.cluster = declared.cluster.spec
        self.resources: Mapping[str, Resource] = declared.resources
        self.node_names: tuple[str, ...] = tuple(sorted(declared.nodes))
        self.nodes: dict[str, NodeView] = {n: self._node_view(n) for n in self.node_names}
        self.attributes: dict[str, dict[str, ScalarValue]] = {
            n: self._attributes(n) for n in self.node_names
        }
        self._clones = {n for n, r in self.resources.items() if r.spec.clone is not None}
        self._promotable = {
            n
            for n, r in self.resources.items()
            if r.spec.clone is not None and r.spec.clone.promotable
        }
        self.units: dict[str, Unit] = {}
        self.unit_of: dict[str, str] = {}
        self._build_units()
        self.meta: dict[str, Meta] = {r: self._meta(r) for r in self.resources}
        self.locations: dict[str, list[Location]] = defaultdict(list)
        self.colocations_of_dependent: dict[str, list[Colocation]] = defaultdict(list)
        self.colocations_of_primary: dict[str, list[Colocation]] = defaultdict(list)
        self.orders_of_first: dict[str, list[Order]] = defaultdict(list)
        self.orders_of_then: dict[str, list[Order]] = defaultdict(list)
        self._index_constraints()
        self.quorum = self._quorum_policy()
        self.maintenance = snapshot.maintenance

    # --- nodes -------------------------------------------------------------------

    def _node_view(self, name: str) -> NodeView:
        spec = self.snapshot.declared.nodes[name].spec
        state = self.snapshot.nodes.get(name)
        everything = self.snapshot.maintenance  # `hactl maintenance on`: every node
        if state is None:  # unknown: lost and unclean until fencing says otherwise
            return NodeView(
                name, False, True, spec.standby, spec.maintenance or everything, known=False
            )
        maintenance = spec.maintenance if state.maintenance is None else state.maintenance
        return NodeView(
            name=name,
            online=state.online,
            unclean=state.unclean,
            standby=spec.standby if state.standby is None else state.standby,
            maintenance=maintenance or everything,
            known=True,
        )

    def _attributes(self, name: str) -> dict[str, ScalarValue]:
        attributes: dict[str, ScalarValue] = dict(
            self.snapshot.declared.nodes[name].spec.attributes
        )
        state = self.snapshot.nodes.get(name)
        if state is not None:
            attributes.update(state.attributes)
        attributes["#uname"] = name
        return attributes

    # --- units and meta ----------------------------------------------------------

    def _build_units(self) -> None:
        declared = self.snapshot.declared
        for group in declared.groups.values():
            name = group.metadata.name
            self.units[name] = Unit(name, "group", tuple(group.spec.resources))
            self.unit_of[name] = name
            for member in group.spec.resources:
                self.unit_of[member] = name
        for name, resource in self.resources.items():
            if name in self.unit_of:
                continue
            kind: UnitKind = "clone" if resource.spec.clone is not None else "primitive"
            self.units[name] = Unit(name, kind, (name,))
            self.unit_of[name] = name

    def _meta(self, name: str) -> Meta:
        own = self.resources[name].spec.meta
        group = self.snapshot.declared.group_of(name)
        inherited = group.spec.meta if group is not None else None
        defaults = self.cluster.defaults

        stickiness: int | None = own.stickiness
        source = ("Resource", name)
        if stickiness is None and inherited is not None and inherited.stickiness is not None:
            stickiness = inherited.stickiness
            source = ("Group", group.metadata.name) if group is not None else source
        if stickiness is None:
            stickiness = int(defaults.stickiness)
            source = ("Cluster", self.snapshot.declared.cluster.metadata.name)
            # Pacemaker's clone instances stick with 1 unless told otherwise, so that
            # equal nodes do not trade instances back and forth.
            if stickiness == 0 and self.resources[name].spec.clone is not None:
                stickiness = 1
        threshold = own.migration_threshold
        if threshold is None and inherited is not None:
            threshold = inherited.migration_threshold
        timeout = own.failure_timeout
        if timeout is None and inherited is not None:
            timeout = inherited.failure_timeout
        stopped = own.target_role == "Stopped" or (
            inherited is not None and inherited.target_role == "Stopped"
        )
        return Meta(
            stickiness=int(stickiness),
            stickiness_source=source,
            migration_threshold=defaults.migration_threshold if threshold is None else threshold,
            failure_timeout=(defaults.failure_timeout if timeout is None else timeout).seconds,
            stopped=stopped,
        )

    def members_of(self, name: str) -> tuple[str, ...]:
        """The primitives a constraint target stands for (a group: its members)."""
        unit = self.units.get(name)
        if unit is not None and unit.kind == "group":
            return unit.members
        return (name,)

    def is_clone(self, name: str) -> bool:
        return name in self._clones

    def is_promotable(self, name: str) -> bool:
        return name in self._promotable

    # --- constraints -------------------------------------------------------------

    def _index_constraints(self) -> None:
        declared = self.snapshot.declared
        for location in declared.locations.values():
            self.locations[location.spec.resource].append(location)
        for colocation in declared.colocations.values():
            self.colocations_of_dependent[colocation.spec.resource].append(colocation)
            self.colocations_of_primary[colocation.spec.with_].append(colocation)
        for order in declared.orders.values():
            self.orders_of_first[order.spec.first].append(order)
            self.orders_of_then[order.spec.then].append(order)

    # --- quorum ------------------------------------------------------------------

    def _quorum_policy(self) -> QuorumPolicy:
        stonith = self.cluster.stonith.enabled and not self.snapshot.maintenance
        if self.snapshot.quorum or self.cluster.no_quorum_policy == "ignore":
            return QuorumPolicy(can_fence=stonith, may_start=True, stop_all=False)
        # Without quorum this partition may be the minority: it must not shoot the
        # majority, and (freeze) must not start what may run over there.
        if self.cluster.no_quorum_policy == "freeze":
            return QuorumPolicy(can_fence=False, may_start=False, stop_all=False)
        return QuorumPolicy(can_fence=False, may_start=False, stop_all=True)
