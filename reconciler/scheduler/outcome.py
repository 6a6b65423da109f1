"""The observed state a transition leads to, if every action in it succeeds.

`hactl simulate` prints it as the revised cluster status (crm_simulate does the same),
and the property tests schedule it again to check that a plan, once carried out,
leaves nothing more to do.
"""

from __future__ import annotations

from dataclasses import replace

from reconciler.scheduler.transition import Transition
from reconciler.snapshot import ClusterSnapshot, NodeState, ObservedRole, ResourceInstance


def predicted(snapshot: ClusterSnapshot, transition: Transition) -> ClusterSnapshot:
    """The snapshot after the transition: fenced nodes down and clean, actions applied."""
    fenced = set(transition.fence)
    nodes = dict(snapshot.nodes)
    for node in fenced:
        state = nodes.get(node, NodeState())
        nodes[node] = replace(state, online=False, unclean=False)
    instances = [inst for inst in snapshot.resources if inst.active and inst.node not in fenced]
    declared = snapshot.declared.resources
    for action in transition.actions:
        if action.op == "fence" or action.resource is None:
            continue
        resource, node = action.resource, action.node
        if action.op == "stop":
            _remove_one(instances, resource, node=node)
        elif action.op == "start":
            clone = declared[resource].spec.clone if resource in declared else None
            role: ObservedRole = "Unpromoted" if clone and clone.promotable else "Started"
            instances.append(ResourceInstance(resource, node, role))
        else:
            wanted: ObservedRole = "Promoted" if action.op == "promote" else "Unpromoted"
            _set_role(instances, resource, node=node, role=wanted)
    return replace(snapshot, nodes=nodes, resources=tuple(instances))


def _remove_one(instances: list[ResourceInstance], resource: str, *, node: str) -> None:
    """Stop one instance there, a failed one first (a stop recovers failures first)."""
    candidates = [
        i for i, inst in enumerate(instances) if inst.resource == resource and inst.node == node
    ]
    if not candidates:
        return
    failed = [i for i in candidates if instances[i].failed is not None]
    del instances[(failed or candidates)[0]]


def _set_role(
    instances: list[ResourceInstance], resource: str, *, node: str, role: ObservedRole
) -> None:
    # An instance reported only as running (e.g. `--running RES@NODE`) is unpromoted.
    have: set[ObservedRole] = {"Unpromoted", "Started"} if role == "Promoted" else {"Promoted"}
    for i, inst in enumerate(instances):
        if inst.resource == resource and inst.node == node and inst.role in have:
            instances[i] = replace(inst, role=role)
            return
