"""The order in which units are placed: dependencies first, cycles cut where stable.

A unit is placed after the units it depends on (its colocation primaries and the
`first` of its Mandatory orders), so their outcome is known when it is placed. When
dependencies form a cycle (A with B, B with A), it is cut before a running unit, so
that what runs keeps its node, and always at the same place once everything runs, so
that scheduling the plan's outcome again changes nothing. The constraints a cut skips
are checked afterwards (consistency.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any


def placement_order(
    units: Sequence[str],
    prerequisites: Callable[[str], Iterable[str]],
    *,
    importance: Callable[[str], Any],
    running: Callable[[str], bool],
) -> list[str]:
    """Every unit once: each after its prerequisites, except where a cycle is cut."""
    ranked = sorted(units, key=importance)
    rank = {u: i for i, u in enumerate(ranked)}
    order: list[str] = []
    for component in _components(ranked, prerequisites, rank=rank):
        order.extend(
            component if len(component) == 1 else _cut(component, prerequisites, running=running)
        )
    return order


def _cut(
    component: list[str],
    prerequisites: Callable[[str], Iterable[str]],
    *,
    running: Callable[[str], bool],
) -> list[str]:
    """A cycle's units: running ones first, by name, each as soon as what it needs is.

    Only "running or not" and the name decide, not scores: once the plan has run, every
    unit of the cycle runs and the next transition cuts the cycle at the same place.
    """
    remaining = set(component)
    needs = {u: set(prerequisites(u)) & remaining for u in component}
    order: list[str] = []
    while remaining:
        ready = [u for u in remaining if not needs[u] & remaining]
        chosen = min(ready or remaining, key=lambda u: (not running(u), u))
        order.append(chosen)
        remaining.discard(chosen)
    return order


def _components(
    ranked: list[str],
    prerequisites: Callable[[str], Iterable[str]],
    *,
    rank: dict[str, int],
) -> list[list[str]]:
    """Tarjan's strongly connected components, without recursion, prerequisites first."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    for root in ranked:
        if root in index:
            continue
        work = [(root, iter(sorted(set(prerequisites(root)), key=rank.__getitem__)))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            unit, pending = work[-1]
            following = next(pending, None)
            if following is not None:
                if following not in index:
                    index[following] = low[following] = len(index)
                    stack.append(following)
                    on_stack.add(following)
                    work.append(
                        (
                            following,
                            iter(sorted(set(prerequisites(following)), key=rank.__getitem__)),
                        )
                    )
                elif following in on_stack:
                    low[unit] = min(low[unit], index[following])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[unit])
            if low[unit] == index[unit]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == unit:
                        break
                found.append(component)
    return found
