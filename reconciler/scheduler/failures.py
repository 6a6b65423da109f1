"""Failures: onFail policies, failcounts against migrationThreshold, failureTimeout expiry.

A resource that keeps failing on a node must eventually leave it (migrationThreshold),
and an old failure must eventually be forgiven (failureTimeout). The time is the
scheduler's `now` input, never a clock; the earliest future expiry is reported as the
transition's `recheck_at`, so the leader knows when to schedule again.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from reconciler.model.kinds import OnFail, OpName, Resource
from reconciler.model.values import INFINITY
from reconciler.scheduler.inputs import Inputs
from reconciler.scheduler.terms import Term

_STOP_POLICIES: frozenset[OnFail] = frozenset({"fence", "block"})


def on_fail(resource: Resource, operation: OpName, *, can_fence: bool) -> OnFail:
    """The effective onFail of an operation, with Pacemaker's defaults.

    A failed stop leaves the resource's state unknown: only fencing settles it, so a
    stop's policy is `fence` when fencing is possible and `block` otherwise, whatever
    was declared (`restart`, `stop` or `ignore` could start a second copy). Any other
    operation defaults to `restart`; a declared `fence` that cannot happen blocks.
    """
    declared = next(
        (op.on_fail for op in resource.spec.ops if op.name == operation and op.on_fail),
        None,
    )
    if operation == "stop":
        policy: OnFail = declared if declared in _STOP_POLICIES else "fence"
        return policy if can_fence else "block"
    if declared == "fence" and not can_fence:
        return "block"
    return declared or "restart"


@dataclass(frozen=True, slots=True)
class Ban:
    """A node a resource may not run on because of its failures there."""

    node: str
    count: int
    threshold: int


class Failures:
    """Failcounts of the snapshot, read against each resource's meta at time `now`."""

    def __init__(self, inputs: Inputs) -> None:
        self._inputs = inputs
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.bans: dict[str, list[Ban]] = defaultdict(list)
        self.held_stopped: dict[str, str] = {}
        self._expiries: list[float] = []
        self._read_failcounts()
        self._apply_thresholds()

    @property
    def recheck_at(self) -> float | None:
        """When the next failure that matters expires (None: none will)."""
        return min(self._expiries) if self._expiries else None

    def _read_failcounts(self) -> None:
        inputs = self._inputs
        for record in inputs.snapshot.failcounts:
            resource = inputs.resources.get(record.resource)
            if resource is None or record.node not in inputs.nodes or record.count <= 0:
                continue
            timeout = inputs.meta[record.resource].failure_timeout
            if timeout > 0 and inputs.now >= record.last_failure + timeout:
                continue  # expired: forgiven, as if it never happened
            policy = on_fail(resource, record.operation, can_fence=inputs.quorum.can_fence)
            if policy == "ignore":
                continue  # Pacemaker: ignored failures never count toward the threshold
            self.counts[(record.resource, record.node)] += record.count
            if policy == "stop":
                self.held_stopped.setdefault(
                    record.resource,
                    f"onFail stop after a failed {record.operation} on {record.node}",
                )
            if timeout > 0:
                self._expiries.append(record.last_failure + timeout)

    def hold_stopped(self, resource: str, reason: str) -> None:
        """Keep a resource stopped (a failed instance whose policy is `stop`)."""
        self.held_stopped.setdefault(resource, reason)

    def _apply_thresholds(self) -> None:
        for (resource, node), count in sorted(self.counts.items()):
            threshold = self._inputs.meta[resource].migration_threshold
            if threshold > 0 and count >= threshold:
                self.bans[resource].append(Ban(node, count, threshold))

    def ban_terms(self, resource: str) -> list[Term]:
        """-INFINITY on every node where the resource reached its migrationThreshold."""
        return [
            Term(
                -INFINITY,
                (ban.node,),
                f"failcount {ban.count} reached migrationThreshold {ban.threshold}",
                ("Resource", resource),
            )
            for ban in self.bans.get(resource, ())
        ]
