"""Has the cluster converged? The question behind every `--wait` and `hactl wait`.

Converged means: the scheduler, run on the state in the store right now, has nothing
left to do (no action, no fencing), no node has a step handed to it, and no action is
in flight. Asking the scheduler itself — the same pure function the leader runs, on
the same records — answers without trusting timing: it does not matter whether the
leader already saw an intent the command just wrote, because the waiting command
schedules with that intent included. Pure: the caller reads the store and gives the
time.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.agent.decisions import Decision
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition, schedule
from reconciler.snapshot import ClusterSnapshot


@dataclass(frozen=True)
class Progress:
    """How far the cluster is from its declared state, at one moment."""

    total: int
    """Declared resources."""
    settled: int
    """Resources with nothing planned, handed out or in flight."""
    planned: tuple[str, ...]
    """The plan's actions, in order ("start web on n1")."""
    running: tuple[str, ...]
    """Steps handed to nodes or announced by them, not yet reported done."""
    fence: tuple[str, ...]
    failed: tuple[str, ...]
    """Resources that failed and that the plan will not bring back, with the reason."""
    active_on: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    """Node → resources possibly active there."""

    @property
    def converged(self) -> bool:
        return not (self.planned or self.running or self.fence)

    def drained(self, node: str) -> bool:
        """Converged, and nothing possibly active on `node` (standby, shutdown)."""
        return self.converged and not self.active_on.get(node)

    def busy(self) -> list[str]:
        """Fencing, steps in flight, then planned actions, each once."""
        return list(
            dict.fromkeys([*(f"fence {n}" for n in self.fence), *self.running, *self.planned])
        )

    def summary(self) -> str:
        """One line: counts and the first few actions (for logs and plain output)."""
        text = f"{self.settled}/{self.total} resources converged"
        busy = self.busy()
        if busy:
            shown = ", ".join(busy[:4]) + (f" (+{len(busy) - 4} more)" if len(busy) > 4 else "")
            text += f"; in progress: {shown}"
        if self.failed:
            text += f"; failed: {', '.join(self.failed)}"
        return text


def progress(
    declared: DeclaredState,
    records: RuntimeRecords,
    decisions: Mapping[str, Decision],
    *,
    now: float,
) -> Progress:
    snapshot = build_snapshot(declared, records, lost_at={}, now=now)
    transition = schedule(snapshot, now)
    busy: set[str] = set()
    planned = []
    for action in transition.actions:
        if action.resource is None:
            continue
        planned.append(str(action))
        busy.add(_primitive(action.resource))
    running = []
    for node, decision in sorted(decisions.items()):
        for step in decision.steps:
            running.append(f"{step.op} {step.resource} on {node}")
            busy.add(step.resource)
    for node, seen in sorted(records.observed.items()):
        for resource, record in sorted(seen.items()):
            if record.pending is not None and records.online(node):
                label = f"{record.pending} {resource} on {node}"
                if label not in running:
                    running.append(label)
                busy.add(resource)
    active_on: dict[str, tuple[str, ...]] = {}
    for instance in snapshot.resources:
        if instance.active:
            active_on[instance.node] = (*active_on.get(instance.node, ()), instance.resource)
    return Progress(
        total=len(declared.resources),
        settled=len([r for r in declared.resources if r not in busy]),
        planned=tuple(planned),
        running=tuple(running),
        fence=transition.fence,
        failed=_failed(snapshot, transition, busy),
        active_on=active_on,
    )


def _failed(snapshot: ClusterSnapshot, transition: Transition, busy: set[str]) -> tuple[str, ...]:
    """Failed resources the plan leaves as they are: kept stopped by their failures
    although declared to run, or blocked in a failed, possibly active state."""
    declared = snapshot.declared
    placed = {_primitive(p.resource) for p in transition.placements if p.node is not None}
    reasons: dict[str, list[str]] = {}
    blocked: set[str] = set()
    for instance in snapshot.resources:
        if instance.failed is not None:
            reasons.setdefault(instance.resource, []).append(
                f"{instance.failed} failed on {instance.node}"
            )
            if instance.active:
                blocked.add(instance.resource)
    for count in snapshot.failcounts:
        reasons.setdefault(count.resource, []).append(
            f"{count.count} {count.operation} failure(s) on {count.node}"
        )
    found = []
    for name, why in sorted(reasons.items()):
        resource = declared.resources.get(name)
        if resource is None or name in busy:
            continue
        group = declared.group_of(name)
        wanted = resource.spec.meta.target_role != "Stopped" and (
            group is None or group.spec.meta.target_role != "Stopped"
        )
        if (wanted and name not in placed) or name in blocked:
            found.append(f"{name} ({'; '.join(dict.fromkeys(why))})")
    return tuple(found)


def _primitive(instance: str) -> str:
    """`drbd0:1` → `drbd0`: clone instances count toward their resource."""
    return instance.split(":", 1)[0]
