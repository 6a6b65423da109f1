"""The scheduler's output: where everything should run, the plan to get there, and why.

A Transition is data, not behaviour: the leader hands its actions to the node agents,
`hactl simulate` prints it, `hactl explain` prints its reasons. `to_dict()` is the
machine-readable form of SPEC §3 (`placements`, `actions`, `fence`, plus more keys).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler.scheduler.terms import Term, combine

ActionOp = Literal["fence", "demote", "stop", "start", "promote"]
PlacedRole = Literal["Started", "Promoted", "Unpromoted", "Stopped"]
ExplainedKind = Literal["primitive", "group", "member", "clone"]


@dataclass(frozen=True, slots=True)
class Placement:
    """Where one resource (or one clone instance, `name:N`) should run, in which role."""

    instance: str
    resource: str
    node: str | None
    role: PlacedRole


@dataclass(frozen=True, slots=True)
class Action:
    """One step of the plan; it may begin once every action in `after` has succeeded."""

    id: int
    op: ActionOp
    node: str
    resource: str | None = None
    after: tuple[int, ...] = ()
    reason: str = ""

    def __str__(self) -> str:
        if self.op == "fence":
            return f"fence {self.node}"
        return f"{self.op} {self.resource} on {self.node}"


@dataclass(frozen=True, slots=True)
class Fencing:
    node: str
    reason: str


@dataclass(frozen=True, slots=True)
class Explanation:
    """Why a resource, group or clone is placed where it is: its terms and the decision.

    `terms` exclude node availability (standby, offline, …), which is the same for every
    resource and lives in `Transition.node_terms`.
    """

    name: str
    kind: ExplainedKind
    nodes: tuple[str, ...]
    decision: str
    terms: tuple[Term, ...]
    promotion_terms: tuple[Term, ...] = ()
    notes: tuple[str, ...] = ()
    group: str | None = None

    def terms_on(self, node: str) -> list[Term]:
        return [t for t in self.terms if t.applies_to(node)]

    def score_on(self, node: str, node_terms: Mapping[str, Term]) -> int:
        """The total of every term on `node`, node availability included."""
        scores = [t.score for t in self.terms_on(node)]
        if node in node_terms:
            scores.append(node_terms[node].score)
        return combine(scores)

    def promotion_score_on(self, node: str) -> int:
        return combine(t.score for t in self.promotion_terms if t.applies_to(node))


@dataclass(frozen=True)
class Transition:
    """Target placement, the fencing and ordered actions that reach it, and the reasons."""

    placements: tuple[Placement, ...]
    actions: tuple[Action, ...]
    fencing: tuple[Fencing, ...]
    explanations: Mapping[str, Explanation]
    node_terms: Mapping[str, Term]
    recheck_at: float | None = None
    warnings: tuple[str, ...] = ()

    @property
    def fence(self) -> tuple[str, ...]:
        return tuple(f.node for f in self.fencing)

    def placement(self, instance: str) -> Placement | None:
        return next((p for p in self.placements if p.instance == instance), None)

    def to_dict(self) -> dict[str, Any]:
        """SPEC §3's `hactl simulate -o json` shape, with roles, order and reasons added."""
        data: dict[str, Any] = {
            "placements": {p.instance: p.node for p in self.placements},
            "roles": {p.instance: p.role for p in self.placements},
            "actions": [
                {
                    "id": a.id,
                    "op": a.op,
                    "resource": a.resource,
                    "node": a.node,
                    "after": list(a.after),
                    "reason": a.reason,
                }
                for a in self.actions
            ],
            "fence": list(self.fence),
            "fenceReasons": {f.node: f.reason for f in self.fencing},
        }
        if self.recheck_at is not None:
            data["recheckAt"] = self.recheck_at
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data
