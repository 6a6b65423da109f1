"""Score terms: every number the scheduler adds up, with the declared object behind it.

Placement is a sum of terms per node (locations, stickiness, colocations, failure
bans, …). Keeping each term, not just the sum, is what lets `hactl explain` say *why*
a resource runs where it runs; keeping them sparse (a term names only the nodes it
touches) keeps 10,000 resources x 100 nodes cheap.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from reconciler.model.values import INFINITY

Ref = tuple[str, str]
"""(kind, name) of the declared object a term comes from."""


@dataclass(frozen=True, slots=True)
class Term:
    """One contribution to a resource's score: `score` on `nodes` (None: on every node)."""

    score: int
    nodes: tuple[str, ...] | None
    text: str
    source: Ref | None = None

    def applies_to(self, node: str) -> bool:
        return self.nodes is None or node in self.nodes


def combine(scores: Iterable[int]) -> int:
    """Pacemaker's score sum: any -INFINITY wins, then any INFINITY, else the clamped sum.

    Pacemaker adds pairwise, so with finite terms past ±INFINITY its result can depend
    on the order of the terms; this form does not, which keeps reasons re-computable.
    """
    total = 0
    positive_infinity = False
    for score in scores:
        if score <= -INFINITY:
            return -INFINITY
        if score >= INFINITY:
            positive_infinity = True
        total += score
    if positive_infinity:
        return INFINITY
    return max(-INFINITY, min(INFINITY, total))


class _Accumulator:
    """A running `combine` that can also take scores back out (for rolled-back merges)."""

    __slots__ = ("finite", "negative_infinities", "positive_infinities")

    def __init__(self) -> None:
        self.finite = 0
        self.negative_infinities = 0
        self.positive_infinities = 0

    def add(self, score: int, sign: int = 1) -> None:
        if score <= -INFINITY:
            self.negative_infinities += sign
        elif score >= INFINITY:
            self.positive_infinities += sign
        else:
            self.finite += sign * score


def _total(*parts: _Accumulator) -> int:
    if any(p.negative_infinities for p in parts):
        return -INFINITY
    if any(p.positive_infinities for p in parts):
        return INFINITY
    return max(-INFINITY, min(INFINITY, sum(p.finite for p in parts)))


class Sheet:
    """The terms of one resource (or group, or promotion) and their per-node totals."""

    __slots__ = ("_everywhere", "_per_node", "terms")

    def __init__(self) -> None:
        self.terms: list[Term] = []
        self._everywhere = _Accumulator()
        self._per_node: dict[str, _Accumulator] = {}

    def add(self, term: Term) -> None:
        if term.score != 0:
            self.terms.append(term)
            self._apply(term, 1)

    def extend(self, terms: Iterable[Term]) -> None:
        for term in terms:
            self.add(term)

    def discard(self, terms: list[Term]) -> None:
        """Take back terms added last (a merge that has to be rolled back)."""
        for term in reversed(terms):
            if term.score != 0:
                popped = self.terms.pop()
                assert popped is term, "only the most recently added terms can be discarded"
                self._apply(term, -1)

    def _apply(self, term: Term, sign: int) -> None:
        if term.nodes is None:
            self._everywhere.add(term.score, sign)
            return
        for node in term.nodes:
            acc = self._per_node.get(node)
            if acc is None:
                acc = self._per_node[node] = _Accumulator()
            acc.add(term.score, sign)

    def total(self, node: str) -> int:
        everywhere = self._everywhere
        acc = self._per_node.get(node)
        if acc is None:
            negative, positive, finite = (
                everywhere.negative_infinities,
                everywhere.positive_infinities,
                everywhere.finite,
            )
        else:  # inlined _total: this is the scheduler's innermost loop
            negative = everywhere.negative_infinities + acc.negative_infinities
            positive = everywhere.positive_infinities + acc.positive_infinities
            finite = everywhere.finite + acc.finite
        if negative:
            return -INFINITY
        if positive:
            return INFINITY
        return -INFINITY if finite < -INFINITY else INFINITY if finite > INFINITY else finite

    @property
    def everywhere(self) -> int:
        """The total on a node no term names."""
        return _total(self._everywhere)

    def touched_nodes(self) -> set[str]:
        """Nodes named by some term (every other node has the `everywhere` total)."""
        return set(self._per_node)


def score_text(score: int) -> str:
    """A score as operators write it: INFINITY, -INFINITY or the integer."""
    if score >= INFINITY:
        return "INFINITY"
    if score <= -INFINITY:
        return "-INFINITY"
    return str(score)
