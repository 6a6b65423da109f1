"""Choosing one node among the allowed ones, with Pacemaker's documented tie-breaking.

Order of preference: the highest score; on a tie at a positive score, the node the
resource already runs on (Pacemaker: moving for balance alone is not worth a move);
then the node with the fewest resources assigned so far in this run (spreading load);
then the node the resource already runs on; then the node name. One departure from
Pacemaker: a resource with stickiness also keeps its node on a tie at 0 or below — a
tie there means a sum hid the stickiness, and moving it would be a flap.
With `autoFailback: false` (heartbeat's auto_failback off) a resource that runs on an
allowed node stays there before scores are even compared.

For groups a candidate also carries its *depth*: how many leading members can run on
that node. Deeper wins first, so a node where the whole group runs beats one where only
its first members could.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from reconciler.scheduler.terms import score_text


@dataclass(frozen=True, slots=True)
class Candidate:
    node: str
    score: int
    depth: int = 1


@dataclass(frozen=True, slots=True)
class Choice:
    node: str
    score: int
    depth: int
    why: str


def pick(
    candidates: Sequence[Candidate],
    *,
    load: Mapping[str, int],
    current: Collection[str],
    stay: bool,
    sticky: bool = False,
) -> Choice | None:
    """The best candidate and the criterion that decided, or None without candidates."""
    if not candidates:
        return None
    deepest = max(c.depth for c in candidates)
    pool = [c for c in candidates if c.depth == deepest]
    if stay:
        staying = [c for c in pool if c.node in current]
        if staying:
            best = min(staying, key=lambda c: _key(c, load=load, current=current, sticky=sticky))
            return Choice(best.node, best.score, best.depth, "stays: autoFailback is off")

    ranked = sorted(pool, key=lambda c: _key(c, load=load, current=current, sticky=sticky))
    best = ranked[0]
    return Choice(
        best.node, best.score, best.depth, _why(ranked, load=load, current=current, sticky=sticky)
    )


def _key(
    c: Candidate, *, load: Mapping[str, int], current: Collection[str], sticky: bool
) -> tuple[int, int, int, int, str]:
    here = 0 if c.node in current else 1
    keeps = sticky or c.score > 0  # Pacemaker: a positive tie keeps the current node
    return (-c.score, here if keeps else 1, load.get(c.node, 0), here, c.node)


def _why(
    ranked: Sequence[Candidate], *, load: Mapping[str, int], current: Collection[str], sticky: bool
) -> str:
    best = ranked[0]
    if len(ranked) == 1:
        return f"the only allowed node (score {score_text(best.score)})"
    second = ranked[1]
    if best.score != second.score:
        runner_up = f"{second.node} {score_text(second.score)}"
        return f"highest score {score_text(best.score)} (next: {runner_up})"
    tie = f"tie at {score_text(best.score)} with {second.node}"
    if (best.node in current) != (second.node in current):
        if sticky:
            return f"{tie}, broken by stickiness (running here already)"
        if best.score > 0:
            return f"{tie}, broken by running here already (a positive tie keeps the node)"
    if load.get(best.node, 0) != load.get(second.node, 0):
        return f"{tie}, broken by fewest resources assigned"
    if (best.node in current) != (second.node in current):
        return f"{tie}, broken by running here already"
    return f"{tie}, broken by node name"


class Load:
    """Resources assigned per node so far, available nodes kept in (load, name) order.

    Every node no term names has the same score for a resource, so only the least
    loaded of them can win; keeping them sorted finds it without scanning every node
    for every resource.
    """

    def __init__(self, nodes: Sequence[str], available: Collection[str]) -> None:
        self.count: dict[str, int] = dict.fromkeys(nodes, 0)
        self._available = frozenset(available)
        self._order: list[tuple[int, str]] = sorted((0, n) for n in self._available)

    def add(self, node: str) -> None:
        before = self.count.get(node, 0)
        self.count[node] = before + 1
        if node in self._available:
            del self._order[bisect.bisect_left(self._order, (before, node))]
            bisect.insort(self._order, (before + 1, node))

    def best_untouched(self, touched: Collection[str], current: Collection[str]) -> list[str]:
        """The available nodes outside `touched` that could win a tie among themselves."""
        found = [n for n in current if n in self._available and n not in touched]
        for _, node in self._order:
            if node not in touched:
                found.append(node)
                if len(found) >= len(current) + 2:
                    break
        return list(dict.fromkeys(found))
