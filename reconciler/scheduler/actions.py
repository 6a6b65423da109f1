"""From placement to actions: what has to stop, start, demote, promote, and where.

Compares each resource's observed instances with its placement. A healthy instance on
its target node is kept; every other managed instance is stopped (a failed one is
recovered: stopped, then started where placement says, possibly the same node). A
blocked instance is never touched; a lost one (its node is fenced) is stopped by the
fencing, as a pseudo action. A non-clone resource found active on several nodes keeps
only the instance on its target node (the best-scored of them, stickiness counting on
each), and every other copy is stopped before anything else about it happens.

Orderings inside one resource are added here: demote before stop, stop before start
(a non-clone resource is never active twice, even during a move), start before
promote, and every start or promote after every fencing of the plan (a node whose
state is unknown could be running anything).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from reconciler.scheduler.fencing import Observed, Status
from reconciler.scheduler.graph import Graph
from reconciler.scheduler.placement import Placer
from reconciler.scheduler.transition import ActionOp

STARTS: tuple[ActionOp, ...] = ("start", "promote")


@dataclass
class ResourceActions:
    """The action ids of one resource, by operation, and the nodes it is kept running on."""

    by_op: dict[ActionOp, list[int]] = field(default_factory=lambda: defaultdict(list))
    kept: list[str] = field(default_factory=list)


class ActionBuilder:
    """Builds the graph's actions per resource; ordering.py adds the constraints' edges."""

    def __init__(self, placer: Placer, status: Status) -> None:
        self.placer = placer
        self.status = status
        self.graph = Graph()
        self.resources: dict[str, ResourceActions] = defaultdict(ResourceActions)
        self.fences: dict[str, int] = {}
        for node, why in sorted(status.fence.items()):
            self.fences[node] = self.graph.add("fence", node, resource=None, reason=why)

    def build(self) -> None:
        inputs = self.placer.inputs
        for name in sorted(inputs.resources):
            if inputs.is_clone(name):
                self._clone(name)
            else:
                self._primitive(name)
        for orphan in sorted(self.status.orphans, key=lambda o: (o.resource, o.node)):
            if orphan.state in ("healthy", "failed"):
                self.add("stop", orphan.resource, node=orphan.node, reason="no longer declared")

    def add(
        self, op: ActionOp, resource: str, *, node: str, reason: str, pseudo: bool = False
    ) -> int:
        ident = self.graph.add(op, node, resource=resource, reason=reason, pseudo=pseudo)
        self.resources[resource].by_op[op].append(ident)
        return ident

    def _implied_stop(self, resource: str, inst: Observed) -> int:
        ident = self.add(
            "stop", resource, node=inst.node, reason=f"{inst.node} is fenced", pseudo=True
        )
        self.graph.edge(self.fences[inst.node], ident)
        return ident

    # --- primitives --------------------------------------------------------------

    def _primitive(self, name: str) -> None:
        target = self.placer.node_of.get(name)
        pinned = name in self.placer.pinned
        instances = sorted(self.status.instances.get(name, []), key=lambda o: o.node)
        managed = [o for o in instances if o.state in ("healthy", "failed")]
        several = len([o for o in instances if o.state != "lost"]) > 1
        kept: str | None = None
        stops: list[int] = []
        for inst in instances:
            if inst.state == "blocked":
                continue
            if inst.state == "lost":
                stops.append(self._implied_stop(name, inst))
                continue
            if inst.state == "healthy" and inst.node == target and kept is None and not pinned:
                kept = inst.node
                continue
            stops.append(
                self.add(
                    "stop",
                    name,
                    node=inst.node,
                    reason=self._stop_reason(name, inst, target=target, several=several),
                )
            )
        if kept is not None:
            self.resources[name].kept.append(kept)
        if target is not None and not pinned and kept is None:
            lost = [o.node for o in instances if o.state == "lost"]
            start = self.add(
                "start",
                name,
                node=target,
                reason=self._start_reason(managed, lost=lost, target=target),
            )
            for stop in stops:
                self.graph.edge(stop, start)

    def _stop_reason(self, name: str, inst: Observed, *, target: str | None, several: bool) -> str:
        if inst.state == "failed":
            return f"recover: {inst.note}"
        if several and target is not None and inst.node != target:
            return f"active on several nodes: keeping the copy on {target}"
        if target is None:
            return self.placer.explanations[name].decision
        return f"moving to {target}"

    @staticmethod
    def _start_reason(managed: list[Observed], *, lost: list[str], target: str) -> str:
        if any(o.state == "failed" for o in managed):
            return "recover"
        if managed:
            return f"moving from {', '.join(o.node for o in managed)}"
        if lost:
            return f"recovering from {', '.join(lost)} (fenced)"
        return f"placed on {target}"

    # --- clones ------------------------------------------------------------------

    def _clone(self, name: str) -> None:
        target = Counter(self.placer.clone_nodes.get(name, []))
        promoted = Counter(self.placer.clone_promoted.get(name, []))
        by_node: dict[str, list[Observed]] = defaultdict(list)
        for inst in self.status.instances.get(name, []):
            by_node[inst.node].append(inst)
        for node in sorted(set(target) | set(by_node)):
            self._clone_node(
                name,
                node,
                instances=by_node.get(node, []),
                wanted=target[node],
                wanted_promoted=promoted[node],
            )
        ops = self.resources[name].by_op
        for demote in ops.get("demote", []):
            for promote in ops.get("promote", []):
                self.graph.edge(demote, promote)  # never more promoted than promotedMax

    def _clone_node(
        self,
        name: str,
        node: str,
        *,
        instances: list[Observed],
        wanted: int,
        wanted_promoted: int,
    ) -> None:
        running_promoted = 0
        count = 0
        stops: list[int] = []
        for inst in sorted(
            instances,
            key=lambda o: (o.state != "blocked", o.state != "healthy", o.role != "Promoted"),
        ):
            if inst.state == "blocked":
                count += 1
                running_promoted += inst.role == "Promoted"
                continue
            if inst.state == "lost":
                stops.append(self._implied_stop(name, inst))
                continue
            if inst.state == "healthy" and count < wanted:
                count += 1
                self.resources[name].kept.append(node)
                if inst.role == "Promoted":
                    if running_promoted < wanted_promoted:
                        running_promoted += 1
                    else:
                        self.add(
                            "demote", name, node=node, reason="fewer promoted instances wanted"
                        )
                continue
            why = f"recover: {inst.note}" if inst.state == "failed" else "fewer instances wanted"
            if inst.role == "Promoted":
                demote = self.add("demote", name, node=node, reason=why)
                stop = self.add("stop", name, node=node, reason=why)
                self.graph.edge(demote, stop)
                stops.append(stop)
            else:
                stops.append(self.add("stop", name, node=node, reason=why))
        for _ in range(wanted - count):
            start = self.add(
                "start", name, node=node, reason="recover" if stops else f"placed on {node}"
            )
            for stop in stops:
                self.graph.edge(stop, start)
            count += 1
            if running_promoted < wanted_promoted:
                promote = self.add("promote", name, node=node, reason="chosen for promotion")
                self.graph.edge(start, promote)
                running_promoted += 1
        while running_promoted < wanted_promoted:
            self.add("promote", name, node=node, reason="chosen for promotion")
            running_promoted += 1

    # --- fencing comes first -------------------------------------------------------

    def fence_before_starts(self) -> None:
        """Every start and promote waits for every fencing of the plan."""
        if not self.fences:
            return
        for actions in self.resources.values():
            for op in STARTS:
                for ident in actions.by_op.get(op, []):
                    for fence in self.fences.values():
                        self.graph.edge(fence, ident)
