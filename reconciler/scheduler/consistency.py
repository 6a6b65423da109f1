"""A last pass over placement: mandatory colocations and orders hold, or the dependent stops.

Placement visits a unit's primaries and Mandatory `first`s before the unit itself, so
normally every mandatory constraint is already satisfied. Only a dependency cycle
(A with B, B with A; or a colocation one way and an order the other) makes placement
look at a constraint before its other side is placed. This pass checks every mandatory
constraint once more and stops whatever violates one, repeating for the resources that
depended on what it stopped. It only ever removes placements, so it ends.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import replace

from reconciler.model.kinds import Colocation
from reconciler.model.values import INFINITY
from reconciler.scheduler.placement import Placer


def enforce(placer: Placer) -> None:
    """Stop every resource whose mandatory colocation or order does not hold."""
    inputs = placer.inputs
    queue = deque(sorted(inputs.units))
    queued = set(queue)
    while queue:
        unit = queue.popleft()
        queued.discard(unit)
        for changed in _fix(placer, unit):
            for dependent in _dependents(placer, changed):
                if dependent not in queued:
                    queued.add(dependent)
                    queue.append(dependent)


def _fix(placer: Placer, unit_name: str) -> list[str]:
    """Unplace what violates a mandatory constraint in one unit; return what changed."""
    unit = placer.inputs.units[unit_name]
    if unit.kind == "clone":
        return _fix_clone(placer, unit_name)
    changed: list[str] = []
    broken: str | None = None
    for member in unit.members:
        if placer.node_of.get(member) is None or member in placer.pinned:
            continue
        broken = broken or _violation(placer, member, unit_name=unit_name)
        if broken is not None:
            _unplace(placer, member, why=broken)
            changed.append(member)
    return changed


def _violation(placer: Placer, name: str, *, unit_name: str) -> str | None:
    node = placer.node_of.get(name)
    names = {name, unit_name}
    for target in sorted(names):
        for colocation in placer.inputs.colocations_of_dependent.get(target, ()):
            if _breaks(placer, colocation, nodes=frozenset((node,)) if node else frozenset()):
                return f"colocation {colocation.metadata.name} does not hold"
    for order in placer.mandatory_orders_on(name):
        spec = order.spec
        if not placer.runnable(spec.first, spec.first_action):
            return f"order {order.metadata.name}: {spec.first} cannot {spec.first_action}"
    return None


def _breaks(placer: Placer, colocation: Colocation, *, nodes: frozenset[str]) -> bool:
    spec = colocation.spec
    if abs(spec.score) < INFINITY or not nodes:
        return False
    if spec.role == "Promoted" and placer.inputs.is_promotable(spec.resource):
        return False  # a promotion term, checked when promoting
    primary = placer.primary_nodes(colocation)
    if primary is None:
        return False
    if spec.score > 0:
        return not nodes <= primary
    return bool(nodes & primary)


def _fix_clone(placer: Placer, name: str) -> list[str]:
    nodes = placer.clone_nodes.get(name, [])
    if not nodes:
        return []
    # A blocked instance (state unknown, cannot be stopped) stays where it is, as a
    # pinned primitive does: only the other instances can be stopped here.
    blocked = Counter(o.node for o in placer.base.instances(name) if o.state == "blocked")
    pinned = Counter(nodes) & blocked
    keep = list((Counter(nodes) - pinned).elements())
    for colocation in placer.inputs.colocations_of_dependent.get(name, ()):
        keep = [n for n in keep if not _breaks(placer, colocation, nodes=frozenset((n,)))]
    for order in placer.mandatory_orders_on(name):
        if not placer.runnable(order.spec.first, order.spec.first_action):
            keep = []
    keep = sorted([*pinned.elements(), *keep])
    if keep == nodes:
        return []
    placer.clone_nodes[name] = keep
    placer.clone_promoted[name] = [n for n in placer.clone_promoted.get(name, []) if n in keep]
    explanation = placer.explanations[name]
    placer.explanations[name] = replace(
        explanation,
        nodes=tuple(keep),
        notes=(*explanation.notes, "instances stopped where a mandatory constraint fails"),
    )
    return [name]


def _unplace(placer: Placer, name: str, *, why: str) -> None:
    placer.node_of[name] = None
    explanation = placer.explanations[name]
    placer.explanations[name] = replace(explanation, nodes=(), decision=f"cannot run: {why}")


def _dependents(placer: Placer, name: str) -> set[str]:
    inputs = placer.inputs
    targets = {name}
    group = inputs.snapshot.declared.group_of(name)
    if group is not None:
        targets.add(group.metadata.name)
    units: set[str] = set()
    for target in targets:
        units.add(inputs.unit_of[target])
        for colocation in inputs.colocations_of_primary.get(target, ()):
            unit = inputs.unit_of.get(colocation.spec.resource)
            if unit is not None:
                units.add(unit)
        for order in inputs.orders_of_first.get(target, ()):
            unit = inputs.unit_of.get(order.spec.then)
            if unit is not None:
                units.add(unit)
    return units
