"""Groups: members on one node, each colocated with and started after the one before it.

A group's node is chosen for as much of the group as possible: on each node the
group's *depth* is how many leading members can run there (a member can when it is
not held stopped and its own score is not negative; for the first member, its own
score plus the group's). The deepest node
wins, then the highest summed score, then the usual tie-breaking. Members past the
depth stop, as Pacemaker stops every member after one that cannot run.

Pacemaker folds later members' scores into the first member's and rolls them back
when no node is left; choosing by depth first gives the same answer where that
rollback happens, and keeps the whole group running where Pacemaker would strand a
later member with a finite negative score (docs/scheduler.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from reconciler.scheduler.choice import Candidate, Choice, pick
from reconciler.scheduler.inputs import Unit
from reconciler.scheduler.terms import Sheet, Term, combine

if TYPE_CHECKING:
    from reconciler.scheduler.placement import Placer

_UNNAMED = ""
"""A node name no term ever names: its total is a sheet's `everywhere` total."""


def depth_at(
    node: str,
    group: Sheet,
    *,
    members: Sequence[Sheet],
    runnable: Sequence[bool],
) -> tuple[int, int]:
    """How many leading members can run on `node`, and their summed score there."""
    group_score = group.total(node)
    scores = [group_score]
    depth = 0
    for sheet, can_run in zip(members, runnable, strict=True):
        if not can_run:
            break
        own = sheet.total(node)
        if member_score(group_score, own, first=depth == 0) < 0:
            break
        depth += 1
        scores.append(own)
    return depth, combine(scores)


def member_score(group_score: int, own: int, *, first: bool) -> int:
    """What decides whether a member may run on a node.

    The group's own terms (its locations, colocations) decide where the group goes,
    through its first member; a later member follows it unless its own terms forbid
    the node. As in Pacemaker: a group's mild dislike of the node it runs on never
    strands the members that are not running yet.
    """
    return combine((group_score, own)) if first else own


def depth_elsewhere(
    group: Sheet, *, members: Sequence[Sheet], runnable: Sequence[bool]
) -> tuple[int, int]:
    """Depth and score on every node that no term of the group or its members names."""
    return depth_at(_UNNAMED, group, members=members, runnable=runnable)


def touched(group: Sheet, members: Sequence[Sheet]) -> set[str]:
    nodes = group.touched_nodes()
    for sheet in members:
        nodes |= sheet.touched_nodes()
    return nodes


def place_group(placer: Placer, unit: Unit) -> None:
    """Choose the group's node by depth, then place its members there in order."""
    group, members = placer.group_sheets(unit, with_colocations=True)
    blockers = [placer.blocker(m) for m in unit.members]
    runnable = [b is None for b in blockers]
    pins = {m: placer.pin(m) for m in unit.members}
    current = sorted({n for m in unit.members for n in placer.base.managed_nodes(m)})
    sticky = placer.sticky(unit.members)
    notes: list[str] = []

    def feasible(sheet: Sheet) -> bool:
        return (
            _group_choice(
                placer, sheet, members=members, runnable=runnable, current=current, sticky=sticky
            )
            is not None
        )

    pinned_at = next((p[0] for p in pins.values() if p is not None), None)
    if pinned_at is not None:
        node: str | None = pinned_at
        why = f"left alone on {pinned_at}: a member is blocked there"
    else:
        notes = placer.merge_dependents(unit.name, sheet=group, promotion=None, feasible=feasible)
        choice = _group_choice(
            placer, group, members=members, runnable=runnable, current=current, sticky=sticky
        )
        node = choice.node if choice else None
        why = f"runs on {choice.node}: {choice.why}" if choice else "cannot run: no allowed node"

    held = _held_by_later(placer, unit, pins)
    placed: list[str] = []
    broken_by: str | None = None
    for member, sheet, blocker in zip(unit.members, members, blockers, strict=True):
        pin = pins[member]
        where = pin[:2] if pin is not None else held.get(member)
        if where is not None:
            at, why = where
            placer.assign(member, at)
            placer.explain(
                member,
                "member",
                terms=[*group.terms, *sheet.terms],
                nodes=(at,),
                decision=f"left alone on {at}: {why}",
                group=unit.name,
            )
            placed.append(member)
            if pin is not None:
                placer.pinned[member] = pin[2]
                if pin[2]:  # its state is unknown: the members after it cannot start (order7)
                    broken_by = broken_by or f"{member} before it in group {unit.name} is blocked"
            continue
        first = not placed
        reason = broken_by or _member_refusal(
            placer, node, group=group, sheet=sheet, blocker=blocker, first=first
        )
        # The group's terms are the first member's: later members follow it.
        terms = [*group.terms, *sheet.terms] if first else list(sheet.terms)
        if reason is None and node is not None:
            placer.assign(member, node)
            placer.explain(
                member,
                "member",
                terms=terms,
                nodes=(node,),
                decision=f"runs on {node} with group {unit.name}",
                group=unit.name,
            )
            placed.append(member)
            continue
        placer.assign(member, None)
        placer.explain(
            member,
            "member",
            terms=terms,
            nodes=(),
            decision=f"cannot run: {reason}",
            group=unit.name,
        )
        broken_by = broken_by or f"{member} before it in group {unit.name} cannot run"
    if not placed and pinned_at is None and node is not None:
        why = f"cannot run: {placer.explanations[unit.members[0]].decision}"
    labelled = list(group.terms)
    for member, sheet in zip(unit.members, members, strict=True):
        labelled += [Term(t.score, t.nodes, f"{member}: {t.text}", t.source) for t in sheet.terms]
    nodes = tuple(sorted({n for m in placed if (n := placer.node_of[m]) is not None}))
    placer.explain(unit.name, "group", terms=labelled, nodes=nodes, decision=why, notes=notes)


def _held_by_later(
    placer: Placer, unit: Unit, pins: dict[str, tuple[str, str, bool] | None]
) -> dict[str, tuple[str, str]]:
    """Members that cannot stop where they run: a member after them is blocked there by a
    failure, and a group stops in reverse order (each member after the ones behind it).
    Members held by a later member's symmetrical Mandatory order (placer.hold) too."""
    held: dict[str, tuple[str, str]] = {}
    for index in range(len(unit.members) - 1, -1, -1):
        later = unit.members[index]
        pin = pins[later]
        if pin is None or not pin[2]:
            continue
        for member in unit.members[:index]:
            if pins[member] is None and pin[0] in placer.base.managed_nodes(member):
                held.setdefault(member, (pin[0], f"{later} after it is blocked there"))
    for member in unit.members:
        hold = placer.hold(member) if pins[member] is None else None
        if hold is not None:
            held.setdefault(member, hold)
    return held


def _member_refusal(
    placer: Placer,
    node: str | None,
    *,
    group: Sheet,
    sheet: Sheet,
    blocker: str | None,
    first: bool,
) -> str | None:
    """Why a member cannot run on the group's node, or None when it can."""
    if blocker is not None:
        return blocker
    if node is None:
        return "its group has no allowed node"
    if node not in placer.available_set:
        return f"{node} is not available"
    if member_score(group.total(node), sheet.total(node), first=first) < 0:
        return f"negative score on {node}"
    return None


def _group_choice(
    placer: Placer,
    group: Sheet,
    *,
    members: list[Sheet],
    runnable: list[bool],
    current: list[str],
    sticky: bool,
) -> Choice | None:
    """The group's node: the deepest, then the best summed score, then tie-breaking."""
    nodes_named = touched(group, members)
    candidates = []
    for node in nodes_named:
        if node in placer.available_set:
            depth, score = depth_at(node, group, members=members, runnable=runnable)
            if depth:
                candidates.append(Candidate(node, score, depth))
    depth, score = depth_elsewhere(group, members=members, runnable=runnable)
    if depth:
        for node in placer.load.best_untouched(nodes_named, current):
            candidates.append(Candidate(node, score, depth))
    return pick(
        candidates, load=placer.load.count, current=current, stay=placer.stay, sticky=sticky
    )
