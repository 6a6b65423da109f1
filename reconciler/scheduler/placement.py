"""Placement: decide the node (and role) of every resource, one unit at a time.

Units (a primitive, a group, a clone) are placed one at a time, each after the units
it depends on — the primaries it is colocated with and the `first` of its Mandatory
orders — so its colocation terms and order checks see their outcome (Pacemaker does the
same recursion); sequence.py decides the order, cycles included.

The result is a plain record per resource: its node (None: stopped), whether it is
pinned where it runs (blocked, maintenance), clone instance nodes and promoted nodes,
and an Explanation for `hactl explain`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Final

from reconciler.model.kinds import Colocation, Order
from reconciler.scheduler import colocation as colocation_rules
from reconciler.scheduler.choice import Candidate, Choice, Load, pick
from reconciler.scheduler.clones import place_clone
from reconciler.scheduler.colocation import Preference
from reconciler.scheduler.failures import Failures
from reconciler.scheduler.fencing import Status
from reconciler.scheduler.groups import place_group
from reconciler.scheduler.inputs import Inputs, Unit
from reconciler.scheduler.scores import BaseScores
from reconciler.scheduler.sequence import placement_order
from reconciler.scheduler.terms import Sheet, Term
from reconciler.scheduler.transition import ExplainedKind, Explanation

STARTING: Final = ("start", "promote")


class Placer:
    """Runs placement over every unit; read the results from its public attributes."""

    def __init__(self, inputs: Inputs, *, status: Status, failures: Failures) -> None:
        self.inputs = inputs
        self.status = status
        self.failures = failures
        self.base = BaseScores(inputs, failures=failures, status=status)
        self.available: tuple[str, ...] = tuple(
            n for n in inputs.node_names if inputs.nodes[n].available and n not in status.fence
        )
        self.available_set = frozenset(self.available)
        self.load = Load(inputs.node_names, self.available)
        self.stay = not inputs.cluster.auto_failback
        self.node_of: dict[str, str | None] = {}
        self.pinned: dict[str, bool] = {}
        """primitive -> True when pinned by a failure (its state is unknown)."""
        self.clone_nodes: dict[str, list[str]] = {}
        self.clone_promoted: dict[str, list[str]] = {}
        self.explanations: dict[str, Explanation] = {}
        self.done: set[str] = set()
        self._complements: dict[frozenset[str], tuple[str, ...]] = {}
        self.preferences: dict[str, Preference] = {}
        self._mandatory: dict[str, list[Order]] = {}

    # --- driver ------------------------------------------------------------------

    def run(self) -> None:
        for name in self.order():
            self._place(self.inputs.units[name])
            self.done.add(name)

    def order(self) -> list[str]:
        """The units in the order they are placed (`hactl export cib` lists them so)."""
        return placement_order(
            sorted(self.inputs.units),
            self._prerequisites,
            importance=self._importance,
            running=self._running,
        )

    def _running(self, name: str) -> bool:
        return any(self.base.managed_nodes(m) for m in self.inputs.units[name].members)

    def _importance(self, name: str) -> tuple[int, int, str]:
        """Running units first, most attached to their node first, then by name."""
        unit = self.inputs.units[name]
        for member in unit.members:
            nodes = self.base.managed_nodes(member)
            if nodes:
                sheet = Sheet()
                sheet.extend(self.base.placement_terms(member))
                if unit.kind == "group":
                    sheet.extend(self.base.placement_terms(unit.name))
                return (0, -sheet.total(nodes[0]), unit.name)
        return (1, 0, unit.name)

    def _prerequisites(self, name: str) -> Iterator[str]:
        unit_of = self.inputs.unit_of
        for member in self.names(name):
            for colocation in self.inputs.colocations_of_dependent.get(member, ()):
                primary = unit_of.get(colocation.spec.with_)
                if primary is not None and primary != name:
                    yield primary
            for order in self.mandatory_orders_on(member):
                first = unit_of.get(order.spec.first)
                if first is not None and first != name:
                    yield first

    def names(self, unit_name: str) -> tuple[str, ...]:
        unit = self.inputs.units[unit_name]
        return (unit.name, *unit.members) if unit.kind == "group" else (unit.name,)

    def _place(self, unit: Unit) -> None:
        if unit.kind == "group":
            place_group(self, unit)
        elif unit.kind == "clone":
            place_clone(self, unit.name)
        else:
            self._place_primitive(unit.name)

    # --- shared questions ----------------------------------------------------------

    def mandatory_orders_on(self, name: str) -> list[Order]:
        """Mandatory start orders that must hold before `name` may start."""
        found = self._mandatory.get(name)
        if found is not None:
            return found
        group = self.inputs.snapshot.declared.group_of(name)
        targets = [name]
        if group is not None and group.spec.resources[0] == name:
            targets.append(group.metadata.name)
        found = self._mandatory[name] = [
            order
            for target in targets
            for order in self.inputs.orders_of_then.get(target, ())
            if order.spec.kind == "Mandatory"
            and order.spec.first_action in STARTING
            and order.spec.then_action == "start"
        ]
        return found

    def runnable(self, name: str, action: str) -> bool:
        """Whether `name` will be active (promoted) after this transition, for orders.

        A group is runnable only when all its members are; a resource pinned by a
        failure is not (its state is unknown). Not yet placed: assumed runnable, and
        consistency.py checks again at the end.
        """
        unit = self.inputs.unit_of.get(name)
        if unit is None or unit not in self.done:
            return True
        if self.inputs.is_clone(name):
            if action == "promote":
                return bool(self.clone_promoted.get(name))
            return bool(self.clone_nodes.get(name))
        return all(
            self.node_of.get(m) is not None and not self.pinned.get(m, False)
            for m in self.inputs.members_of(name)
        )

    # --- colocation (colocation.py), for groups.py and clones.py too -----------------

    def primary_nodes(self, colocation: Colocation) -> frozenset[str] | None:
        return colocation_rules.primary_nodes(self, colocation)

    def dependent_terms(self, name: str, *, promotion: bool) -> list[Term]:
        return colocation_rules.dependent_terms(self, name, promotion=promotion)

    def merge_dependents(
        self,
        unit_name: str,
        *,
        sheet: Sheet,
        promotion: Sheet | None,
        feasible: Callable[[Sheet], bool],
    ) -> list[str]:
        return colocation_rules.merge_dependents(
            self, unit_name, sheet=sheet, promotion=promotion, feasible=feasible
        )

    def blocker(self, name: str) -> str | None:
        """Why a primitive (or clone) may not run at all, or None."""
        meta = self.inputs.meta[name]
        if meta.stopped:
            return "targetRole is Stopped"
        held = self.failures.held_stopped.get(name)
        if held:
            return held
        quorum = self.inputs.quorum
        if quorum.stop_all:
            return "no quorum (noQuorumPolicy stop)"
        if not quorum.may_start and not self.base.managed_nodes(name):
            return "no quorum (noQuorumPolicy freeze): nothing new starts"
        for order in self.mandatory_orders_on(name):
            spec = order.spec
            if not self.runnable(spec.first, spec.first_action):
                return f"order {order.metadata.name}: {spec.first} cannot {spec.first_action}"
        return None

    def pin(self, name: str) -> tuple[str, str, bool] | None:
        """(node, why, by failure) when a blocked instance holds the resource where it is."""
        blocked = [o for o in self.base.instances(name) if o.state == "blocked"]
        if not blocked:
            return None
        first = min(blocked, key=lambda o: o.node)
        return first.node, first.note, first.failed is not None

    def hold(self, name: str) -> tuple[str, str] | None:
        """(node, why) when `name` cannot stop where it runs: it must stop after a resource
        that a failure blocks (the `then` of its symmetrical Mandatory order)."""
        nodes = self.base.managed_nodes(name)
        waiting_for = self._blocked_then(name, seen={name}) if nodes else None
        if waiting_for is None:
            return None
        return nodes[0], f"{waiting_for} must stop before it and is blocked by a failure"

    def _blocked_then(self, name: str, *, seen: set[str]) -> str | None:
        group = self.inputs.snapshot.declared.group_of(name)
        targets = [name] if group is None else [name, group.metadata.name]
        for target in targets:
            for order in self.inputs.orders_of_first.get(target, ()):
                spec = order.spec
                if spec.kind != "Mandatory" or not spec.symmetrical:
                    continue
                if (spec.first_action, spec.then_action) != ("start", "start"):
                    continue
                for then in self.inputs.members_of(spec.then):
                    if then in seen or then not in self.inputs.resources:
                        continue
                    if any(
                        o.state == "blocked" and o.failed is not None
                        for o in self.base.instances(then)
                    ) or self._blocked_then(then, seen=seen | {then}):
                        return then
        return None

    def complement(self, nodes: frozenset[str]) -> tuple[str, ...]:
        found = self._complements.get(nodes)
        if found is None:
            found = tuple(n for n in self.inputs.node_names if n not in nodes)
            self._complements[nodes] = found
        return found

    def sticky(self, members: tuple[str, ...]) -> bool:
        return any(self.inputs.meta[m].stickiness > 0 for m in members)

    def _choose(self, sheet: Sheet, current: list[str], *, sticky: bool) -> Choice | None:
        """The best available node for a single resource with this sheet."""
        candidates = []
        nodes_named = sheet.touched_nodes()
        for node in nodes_named:
            if node in self.available_set:
                score = sheet.total(node)
                if score >= 0:
                    candidates.append(Candidate(node, score))
        everywhere = sheet.everywhere
        if everywhere >= 0:
            for node in self.load.best_untouched(nodes_named, current):
                candidates.append(Candidate(node, everywhere))
        return pick(
            candidates, load=self.load.count, current=current, stay=self.stay, sticky=sticky
        )

    def feasible(self, sheet: Sheet) -> bool:
        if sheet.everywhere >= 0 and any(n not in sheet.touched_nodes() for n in self.available):
            return True
        return any(sheet.total(n) >= 0 for n in self.available)

    def assign(self, name: str, node: str | None) -> None:
        self.node_of[name] = node
        if node is not None:
            self.load.add(node)

    # --- primitives --------------------------------------------------------------

    def _place_primitive(self, name: str) -> None:
        sheet = Sheet()
        sheet.extend(self.base.placement_terms(name))
        sheet.extend(self.dependent_terms(name, promotion=False))
        pin = self.pin(name)
        where = pin[:2] if pin is not None else self.hold(name)
        if where is not None:
            node, why = where
            self.assign(name, node)
            if pin is not None:
                self.pinned[name] = pin[2]
            self.explain(
                name,
                "primitive",
                terms=sheet.terms,
                nodes=(node,),
                decision=f"left alone on {node}: {why}",
            )
            return
        blocker = self.blocker(name)
        if blocker is not None:
            self.assign(name, None)
            self.explain(
                name, "primitive", terms=sheet.terms, nodes=(), decision=f"cannot run: {blocker}"
            )
            return
        notes = self.merge_dependents(name, sheet=sheet, promotion=None, feasible=self.feasible)
        choice = self._choose(sheet, self.base.managed_nodes(name), sticky=self.sticky((name,)))
        if choice is None:
            self.assign(name, None)
            self.explain(
                name,
                "primitive",
                terms=sheet.terms,
                nodes=(),
                decision="cannot run: no allowed node",
                notes=notes,
            )
            return
        self.assign(name, choice.node)
        self.explain(
            name,
            "primitive",
            terms=sheet.terms,
            nodes=(choice.node,),
            decision=f"runs on {choice.node}: {choice.why}",
            notes=notes,
        )

    def explain(
        self,
        name: str,
        kind: ExplainedKind,
        *,
        terms: Sequence[Term],
        nodes: tuple[str, ...],
        decision: str,
        notes: list[str] | None = None,
        promotion: Sheet | None = None,
        group: str | None = None,
    ) -> None:
        self.explanations[name] = Explanation(
            name=name,
            kind=kind,
            nodes=nodes,
            decision=decision,
            terms=tuple(terms),
            promotion_terms=tuple(promotion.terms) if promotion is not None else (),
            notes=tuple(notes or ()),
            group=group,
        )

    # --- groups ---------------------------------------------------------------------

    def group_sheets(self, unit: Unit, *, with_colocations: bool) -> tuple[Sheet, list[Sheet]]:
        group = Sheet()
        group.extend(self.base.placement_terms(unit.name))
        if with_colocations:
            group.extend(self.dependent_terms(unit.name, promotion=False))
        members = []
        for member in unit.members:
            sheet = Sheet()
            sheet.extend(self.base.placement_terms(member))
            if with_colocations:
                sheet.extend(self.dependent_terms(member, promotion=False))
            members.append(sheet)
        return group, members
