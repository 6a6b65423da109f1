"""Running resource actions on this node: one place that maps an OCF result to the
role the node then reports, and that declares which operation failed.

A failed start or promote leaves the resource possibly active (its state is not
known), a failed stop leaves it possibly active *and* makes the node unclean (only
fencing settles it): the reported role always errs on "may be running".
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.model.kinds import Resource
from reconciler.ocf.environment import CloneInfo, RunContext
from reconciler.ocf.results import OcfResult, monitor_role
from reconciler.ocf.runner import ActionResult, run_action
from reconciler.snapshot import ObservedRole

DEFAULT_TIMEOUT_S = 20.0


@dataclass(frozen=True)
class Outcome:
    role: ObservedRole
    failed: bool
    rc: int
    reason: str


def op_timeout(resource: Resource, op: str, *, role: str | None = None) -> float:
    for declared in resource.spec.ops:
        if declared.name == op and (role is None or declared.role in (None, role)):
            return declared.timeout.seconds
    return DEFAULT_TIMEOUT_S


def monitor_ops(resource: Resource, role: ObservedRole) -> list[tuple[float, float]]:
    """(interval, timeout) of the recurring monitors for an instance in `role`."""
    found = []
    for op in resource.spec.ops:
        if op.name != "monitor" or not op.interval.milliseconds:
            continue
        wanted_role = {"Promoted": "Promoted", "Unpromoted": "Unpromoted"}.get(role)
        if op.role is None or op.role == wanted_role:
            found.append((op.interval.seconds, op.timeout.seconds))
    return found


def clone_info(resource: Resource, instance: int, nodes: int) -> CloneInfo | None:
    clone = resource.spec.clone
    if clone is None:
        return None
    return CloneInfo(
        instance=instance,
        max=clone.max if clone.max is not None else nodes,
        per_node=clone.per_node,
        promotable=clone.promotable,
        promoted_max=clone.promoted_max,
        promoted_per_node=clone.promoted_per_node,
    )


async def run(
    resource: Resource,
    action: str,
    *,
    context: RunContext,
    timeout: float,  # noqa: ASYNC109 - the agent's own timeout, enforced by the runner
    interval: float = 0.0,
    clone: CloneInfo | None = None,
) -> ActionResult:
    return await run_action(
        resource.spec.agent,
        action,
        instance=resource.metadata.name,
        context=context,
        timeout=timeout,
        params=dict(resource.spec.params),
        interval=interval,
        clone=clone,
    )


def after_action(action: str, result: ActionResult, *, promotable: bool) -> Outcome:
    """The role to report after `action` ended with `result`."""
    rc = result.result.value
    ok = result.result is OcfResult.SUCCESS
    started: ObservedRole = "Unpromoted" if promotable else "Started"
    match action:
        case "start":
            return Outcome(started, not ok, rc, result.reason)
        case "stop":
            return Outcome("Stopped" if ok else started, not ok, rc, result.reason)
        case "promote":
            return Outcome("Promoted", not ok, rc, result.reason)
        case "demote":
            return Outcome(started if ok else "Promoted", not ok, rc, result.reason)
    raise ValueError(f"not a resource action: {action}")


def after_monitor(result: ActionResult, *, promotable: bool, probe: bool) -> Outcome:
    """The role a monitor (or probe) found; Failed means unknown, so possibly active."""
    role = monitor_role(result.result, probe=probe)
    rc = result.result.value
    if role == "Failed":
        return Outcome("Started", True, rc, result.reason)
    if role == "Started" and promotable:
        return Outcome("Unpromoted", False, rc, result.reason)
    return Outcome(role, False, rc, result.reason)
