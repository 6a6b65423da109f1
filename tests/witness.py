"""Reading the witness log: intervals during which each node served, and overlaps.

A node "served" from one line to the next when they are less than GAP apart; a longer
silence (frozen, killed) ends an interval. Two nodes serving at the same moment is the
bug this product must never have. Evidence from outside the cluster: the cluster
never reads this log.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

GAP_NS = 100_000_000  # 100 ms without a line: the service was not answering


@dataclass(frozen=True)
class Interval:
    node: str
    start: int
    end: int
    start_wall: int = 0
    """Wall-clock ns of the first line: compared with the fencing record's time."""


def lines(log: Path) -> list[tuple[str, int, int]]:
    found = []
    for line in log.read_text().splitlines() if log.exists() else []:
        parts = line.split()
        if len(parts) == 3 and parts[1].isdigit() and parts[2].isdigit():
            found.append((parts[0], int(parts[1]), int(parts[2])))  # else torn by a kill
    return found


def intervals(log: Path) -> list[Interval]:
    found: list[Interval] = []
    open_by_node: dict[str, Interval] = {}
    for node, at, wall in lines(log):
        current = open_by_node.get(node)
        if current is not None and at - current.end <= GAP_NS:
            open_by_node[node] = Interval(node, current.start, at, current.start_wall)
        else:
            if current is not None:
                found.append(current)
            open_by_node[node] = Interval(node, at, at, wall)
    found.extend(open_by_node.values())
    return sorted(found, key=lambda i: i.start)


def overlaps(log: Path) -> list[tuple[Interval, Interval]]:
    """Every pair of intervals of different nodes that share a moment."""
    spans = intervals(log)
    bad = []
    for i, first in enumerate(spans):
        for second in spans[i + 1 :]:
            if second.start > first.end:
                break
            if second.node != first.node:
                bad.append((first, second))
    return bad


def serving_since(log: Path, since_ns: int) -> set[str]:
    """Nodes whose service answered after `since_ns` (time.monotonic_ns())."""
    return {node for node, at, _ in lines(log) if at >= since_ns}
