"""Decisions: what the leader tells one node to do now, and which of a plan's actions
are ready to be told.

The leader is level-based: every round it schedules from the whole observed state,
so actions that finished are no longer in the plan, and the actions that wait for
nothing (`after` empty) are exactly those that may run now. Starts and promotes are
only handed to a node that holds the resource's claim (claims.py). Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from reconciler.agent.claims import Claim
from reconciler.scheduler import Transition

NodeOp = str  # start | stop | promote | demote


@dataclass(frozen=True, slots=True, order=True)
class Step:
    op: NodeOp
    resource: str


@dataclass(frozen=True)
class Decision:
    token: int
    """The fencing token of the leader that decided; anything else is ignored."""
    steps: tuple[Step, ...]

    def to_json(self) -> bytes:
        return json.dumps(
            {"token": self.token, "steps": [[s.op, s.resource] for s in self.steps]},
            separators=(",", ":"),
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Decision:
        body = json.loads(raw)
        return cls(int(body["token"]), tuple(Step(str(o), str(r)) for o, r in body["steps"]))


def targets(transition: Transition) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Where each resource should be active, and where promoted."""
    active: dict[str, list[str]] = {}
    promoted: dict[str, list[str]] = {}
    for placement in transition.placements:
        if placement.node is None or placement.role == "Stopped":
            continue
        active.setdefault(placement.resource, []).append(placement.node)
        if placement.role == "Promoted":
            promoted.setdefault(placement.resource, []).append(placement.node)
    return active, promoted


def ready_steps(
    transition: Transition, claims: Mapping[str, Claim], nodes: Sequence[str]
) -> dict[str, tuple[Step, ...]]:
    """Per node, the steps that may run now (fencing is the leader's own job)."""
    steps: dict[str, list[Step]] = {node: [] for node in nodes}
    for action in transition.actions:
        if action.after or action.op == "fence" or action.resource is None:
            continue
        claim = claims.get(action.resource, Claim())
        if action.op == "start" and action.node not in claim.active:
            continue
        if action.op == "promote" and action.node not in claim.promoted:
            continue
        steps.setdefault(action.node, []).append(Step(action.op, action.resource))
    return {node: tuple(sorted(set(found))) for node, found in steps.items()}
