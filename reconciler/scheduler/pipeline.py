"""`schedule(snapshot, now) -> Transition`: the scheduler as one pure pipeline.

    inputs      index the snapshot (inputs.py)
    failures    failcounts, thresholds, expiry at `now` (failures.py)
    status      fencing decisions, what each observed instance means (fencing.py)
    placement   node and role of every resource (placement.py, consistency.py)
    actions     stops/starts/promotes and their edges (actions.py, ordering.py)
    plan        one deterministic order (graph.py)

No I/O, no clock, no logging: the same snapshot and time always give the same plan.
"""

from __future__ import annotations

from reconciler.scheduler.actions import ActionBuilder
from reconciler.scheduler.clones import instance_count
from reconciler.scheduler.consistency import enforce
from reconciler.scheduler.failures import Failures
from reconciler.scheduler.fencing import Status
from reconciler.scheduler.inputs import Inputs
from reconciler.scheduler.ordering import add_order_edges, propagate_restarts
from reconciler.scheduler.placement import Placer
from reconciler.scheduler.transition import Fencing, PlacedRole, Placement, Transition
from reconciler.snapshot import ClusterSnapshot


def schedule(snapshot: ClusterSnapshot, now: float) -> Transition:
    """Where everything should run, the plan that gets it there, and why."""
    inputs = Inputs(snapshot, now)
    failures = Failures(inputs)
    status = Status(inputs, failures)
    placer = Placer(inputs, status=status, failures=failures)
    placer.run()
    enforce(placer)

    builder = ActionBuilder(placer, status)
    builder.build()
    propagate_restarts(builder)
    add_order_edges(builder)
    builder.fence_before_starts()
    actions = builder.graph.linearize()

    return Transition(
        placements=tuple(_placements(placer)),
        actions=tuple(actions),
        fencing=tuple(Fencing(node, why) for node, why in sorted(status.fence.items())),
        explanations=dict(sorted(placer.explanations.items())),
        node_terms=status.node_terms(),
        recheck_at=failures.recheck_at,
        warnings=tuple(status.warnings + builder.graph.warnings),
    )


def _placements(placer: Placer) -> list[Placement]:
    inputs = placer.inputs
    placements: list[Placement] = []
    for name in sorted(inputs.resources):
        spec = inputs.resources[name].spec.clone
        if spec is None:
            node = placer.node_of.get(name)
            placements.append(Placement(name, name, node, "Started" if node else "Stopped"))
            continue
        promoted = list(placer.clone_promoted.get(name, []))
        nodes = sorted(placer.clone_nodes.get(name, []), key=lambda n: (n not in promoted, n))
        count = max(instance_count(spec, len(inputs.node_names)), len(nodes))
        for index in range(count):
            instance = f"{name}:{index}"
            if index >= len(nodes):
                placements.append(Placement(instance, name, None, "Stopped"))
                continue
            node = nodes[index]
            role: PlacedRole = "Started"
            if spec.promotable:
                role = "Unpromoted"
                if node in promoted:
                    promoted.remove(node)
                    role = "Promoted"
            placements.append(Placement(instance, name, node, role))
    return placements
