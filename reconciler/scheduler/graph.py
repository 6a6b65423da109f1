"""The action graph: actions, "must follow" edges, and its one deterministic linear order.

Actions on a fenced node's resources are *pseudo* actions (Pacemaker's implied stops):
nothing runs them, fencing did the work, but they carry the ordering — a resource lost
with its node starts elsewhere only after the fencing, and after whatever had to stop
before it. They are removed at the end, their edges bridged.

The linear order is a topological order that, among the actions ready at each step,
takes fencing first, then demotes, stops, starts and promotes, then by resource and
node name: stops before starts unless an order constraint says otherwise.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from reconciler.scheduler.transition import Action, ActionOp

PHASE: dict[ActionOp, int] = {"fence": 0, "demote": 1, "stop": 2, "start": 3, "promote": 4}


@dataclass
class Node:
    op: ActionOp
    node: str
    resource: str | None
    reason: str
    pseudo: bool = False
    after: dict[int, bool] = field(default_factory=dict)
    """id -> True when the edge is optional (dropped first to break a loop)."""

    def sort_key(self, ident: int) -> tuple[int, str, str, int]:
        return (PHASE[self.op], self.resource or "", self.node, ident)


class Graph:
    def __init__(self) -> None:
        self.nodes: list[Node] = []
        self.warnings: list[str] = []

    def add(
        self, op: ActionOp, node: str, *, resource: str | None, reason: str, pseudo: bool = False
    ) -> int:
        self.nodes.append(Node(op, node, resource, reason, pseudo))
        return len(self.nodes) - 1

    def edge(self, before: int, after: int, *, optional: bool = False) -> None:
        if before == after:
            return
        edges = self.nodes[after].after
        edges[before] = edges.get(before, True) and optional

    def linearize(self) -> list[Action]:
        """Bridge and drop pseudo actions; return the actions in order, ids renumbered."""
        self._bridge_pseudo()
        order = self._topological_order()
        new_id = {old: new for new, old in enumerate(order)}
        return [
            Action(
                id=new_id[old],
                op=self.nodes[old].op,
                node=self.nodes[old].node,
                resource=self.nodes[old].resource,
                after=tuple(sorted(new_id[p] for p in self.nodes[old].after)),
                reason=self.nodes[old].reason,
            )
            for old in order
        ]

    def _bridge_pseudo(self) -> None:
        """Point every action past the pseudo actions it waits for, at what they waited for."""
        memo: dict[int, dict[int, bool]] = {}
        for ident, node in enumerate(self.nodes):
            if not node.pseudo and any(self.nodes[b].pseudo for b in node.after):
                node.after = self._real_predecessors(ident, memo)

    def _real_predecessors(self, root: int, memo: dict[int, dict[int, bool]]) -> dict[int, bool]:
        """The non-pseudo actions `root` waits for, through any chain of pseudo actions.

        Depth first with an explicit stack: a long chain of implied stops (a big group
        on a fenced node) must not hit Python's recursion limit.
        """
        stack = [root]
        while stack:
            ident = stack[-1]
            pending = [b for b in self.nodes[ident].after if self.nodes[b].pseudo and b not in memo]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if ident in memo:
                continue
            found: dict[int, bool] = {}
            for before, optional in self.nodes[ident].after.items():
                reached = memo[before] if self.nodes[before].pseudo else {before: False}
                for real, real_optional in reached.items():
                    found[real] = found.get(real, True) and (optional or real_optional)
            memo[ident] = found
        return memo[root]

    def _topological_order(self) -> list[int]:
        live = [i for i, n in enumerate(self.nodes) if not n.pseudo]
        waiting = {i: {p for p in self.nodes[i].after if not self.nodes[p].pseudo} for i in live}
        successors: dict[int, list[int]] = {}
        for ident, preds in waiting.items():
            for before in preds:
                successors.setdefault(before, []).append(ident)
        ready = [(self.nodes[i].sort_key(i), i) for i, preds in waiting.items() if not preds]
        heapq.heapify(ready)
        order: list[int] = []
        emitted: set[int] = set()
        while len(order) < len(live):
            if not ready:
                ready = self._break_loop(waiting, emitted)
                heapq.heapify(ready)
            _, ident = heapq.heappop(ready)
            order.append(ident)
            emitted.add(ident)
            for succ in successors.get(ident, ()):
                preds = waiting[succ]
                preds.discard(ident)
                if not preds and succ not in emitted:
                    heapq.heappush(ready, (self.nodes[succ].sort_key(succ), succ))
        return order

    def _break_loop(
        self, waiting: dict[int, set[int]], emitted: set[int]
    ) -> list[tuple[tuple[int, str, str, int], int]]:
        """An ordering loop: drop its optional edges, else release its first action."""
        stuck = sorted(i for i in waiting if i not in emitted)
        released = []
        for ident in stuck:
            node = self.nodes[ident]
            for before in [p for p in waiting[ident] if node.after.get(p)]:
                waiting[ident].discard(before)
                del node.after[before]
            if not waiting[ident]:
                released.append((node.sort_key(ident), ident))
        if released:
            return released
        first = min(stuck, key=lambda i: self.nodes[i].sort_key(i))
        self.warnings.append(
            "ordering loop among "
            + ", ".join(
                f"{self.nodes[i].op} {self.nodes[i].resource or ''} on {self.nodes[i].node}"
                for i in stuck[:5]
            )
            + f"; {self.nodes[first].op} {self.nodes[first].resource} goes first"
        )
        node = self.nodes[first]
        for before in waiting[first]:
            node.after.pop(before, None)
        waiting[first] = set()
        return [(node.sort_key(first), first)]
