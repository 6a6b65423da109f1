"""Which nodes to fence, and what each observed instance means for the plan.

"Rather no service than potentially corrupt data": a resource seen on a node whose state
cannot be trusted (unclean, lost, a stop that failed) counts as still running until that
node is fenced. When the plan fences the node, the instance is *lost*: its recovery
elsewhere is ordered after the fencing. When fencing is impossible (no quorum, cluster
maintenance, or an unclean node that is still a member with stonith disabled), the
instance is *blocked*: left alone and never started elsewhere.

One exception, as in Pacemaker: with stonith disabled, a node that left the cluster is
assumed down and its resources stopped — the operator chose that risk by disabling
fencing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from reconciler.model.kinds import OpName
from reconciler.model.values import INFINITY
from reconciler.scheduler.failures import Failures, on_fail
from reconciler.scheduler.inputs import Inputs, NodeView
from reconciler.scheduler.terms import Term
from reconciler.snapshot import ObservedRole, ResourceInstance

InstanceState = Literal["healthy", "failed", "blocked", "lost"]
"""healthy: runs and is managed. failed: runs, needs recovery (stop, maybe start).
blocked: left exactly as it is. lost: on a node this plan fences; stops with it."""


@dataclass(frozen=True, slots=True)
class Observed:
    """An active instance and what the scheduler makes of it."""

    resource: str
    node: str
    role: ObservedRole
    state: InstanceState
    failed: OpName | None = None
    note: str = ""


class Status:
    """The fencing decisions and every active instance, classified."""

    def __init__(self, inputs: Inputs, failures: Failures) -> None:
        self._inputs = inputs
        self._failures = failures
        self.fence: dict[str, str] = {}
        self.frozen: dict[str, str] = {}
        self.down: set[str] = set()
        self.warnings: list[str] = []
        self.instances: dict[str, list[Observed]] = {}
        self.orphans: list[Observed] = []
        for node in inputs.nodes.values():
            self._classify_node(node)
        self._fence_for_failures()
        self._classify_instances()

    # --- nodes -------------------------------------------------------------------

    def _classify_node(self, node: NodeView) -> None:
        policy = self._inputs.quorum
        stonith = self._inputs.cluster.stonith.enabled
        if node.unclean:
            why = (
                "state unknown (never reported)"
                if not node.known
                else (
                    "peer is no longer part of the cluster"
                    if not node.online
                    else "node is unclean"
                )
            )
            if policy.can_fence:
                self.fence[node.name] = why
            elif not node.online and not stonith and not self._inputs.maintenance:
                self.down.add(node.name)
                self.warnings.append(
                    f"{node.name} is lost and stonith is disabled: assuming it is down "
                    f"and recovering its resources elsewhere"
                )
            else:
                self.frozen[node.name] = (
                    f"{node.name} is unclean and cannot be fenced ({self._no_fence_reason()})"
                )
        elif not node.online:
            self.down.add(node.name)
        elif node.maintenance:
            self.frozen[node.name] = (
                "the cluster is in maintenance"
                if self._inputs.maintenance
                else f"{node.name} is in maintenance"
            )

    def _no_fence_reason(self) -> str:
        if self._inputs.maintenance:
            return "the cluster is in maintenance"
        if not self._inputs.cluster.stonith.enabled:
            return "stonith is disabled"
        return "no quorum"

    def _fence_for_failures(self) -> None:
        """Failures whose policy is `fence` (a failed stop, by default) make a node unclean."""
        if not self._inputs.quorum.can_fence:
            return
        for inst in self._active_instances():
            if inst.failed is None or inst.node in self.fence or inst.node in self.down:
                continue
            if inst.node in self.frozen:
                continue
            resource = self._inputs.resources[inst.resource]
            if on_fail(resource, inst.failed, can_fence=True) == "fence":
                self.fence[inst.node] = f"{inst.failed} of {inst.resource} failed there"

    # --- instances ---------------------------------------------------------------

    def _active_instances(self) -> list[ResourceInstance]:
        inputs = self._inputs
        return [
            inst
            for inst in inputs.snapshot.resources
            if inst.active and inst.resource in inputs.resources and inst.node in inputs.nodes
        ]

    def _classify_instances(self) -> None:
        inputs = self._inputs
        for inst in inputs.snapshot.resources:
            if not inst.active:
                continue
            if inst.node not in inputs.nodes:
                self.warnings.append(
                    f"{inst.resource} reported on undeclared node {inst.node}: ignored"
                )
                continue
            if inst.node in self.down:
                continue
            observed = self._classify(inst)
            if inst.resource in inputs.resources:
                self.instances.setdefault(inst.resource, []).append(observed)
            elif observed.state != "lost":
                self.orphans.append(observed)

    def _classify(self, inst: ResourceInstance) -> Observed:
        role: ObservedRole = "Started" if inst.role == "Stopped" else inst.role
        if inst.node in self.fence:
            return Observed(
                inst.resource, inst.node, role, "lost", inst.failed, f"{inst.node} is fenced first"
            )
        if inst.node in self.frozen:
            return Observed(
                inst.resource, inst.node, role, "blocked", inst.failed, self.frozen[inst.node]
            )
        resource = self._inputs.resources.get(inst.resource)
        if inst.failed is None or resource is None:
            return Observed(inst.resource, inst.node, role, "healthy")
        policy = on_fail(resource, inst.failed, can_fence=self._inputs.quorum.can_fence)
        if policy == "ignore":
            return Observed(
                inst.resource,
                inst.node,
                role,
                "healthy",
                inst.failed,
                f"failed {inst.failed} ignored (onFail ignore)",
            )
        if policy in ("block", "fence"):  # fence here means it could not be fenced
            return Observed(
                inst.resource,
                inst.node,
                role,
                "blocked",
                inst.failed,
                f"failed {inst.failed} on {inst.node} blocks it (onFail {policy})",
            )
        if policy == "stop":
            self._failures.hold_stopped(
                inst.resource, f"onFail stop after a failed {inst.failed} on {inst.node}"
            )
        return Observed(
            inst.resource,
            inst.node,
            role,
            "failed",
            inst.failed,
            f"failed {inst.failed} on {inst.node}",
        )

    # --- node terms --------------------------------------------------------------

    def node_terms(self) -> dict[str, Term]:
        """-INFINITY for every node that may not take resources, with the reason."""
        terms: dict[str, Term] = {}
        for node in self._inputs.nodes.values():
            why = self._unavailable_reason(node)
            if why is not None:
                terms[node.name] = Term(-INFINITY, (node.name,), why, ("Node", node.name))
        return terms

    def _unavailable_reason(self, node: NodeView) -> str | None:
        if node.name in self.fence:
            return f"{node.name} is unclean and is fenced first"
        if node.unclean:
            return self.frozen.get(node.name, f"{node.name} is unclean")
        if not node.online:
            return f"{node.name} is offline"
        if node.maintenance:
            return self.frozen[node.name]
        if node.standby:
            return f"{node.name} is in standby"
        return None
