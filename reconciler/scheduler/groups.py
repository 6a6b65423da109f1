"""Groups: members on one node, each colocated with and started after the one before it.

A group's node is chosen for as much of the group as possible: on each node the
group's *depth* is how many leading members can run there (a member can when it is not
held stopped and its own score plus the group's is not negative). The deepest node
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
        if combine((group_score, own)) < 0:
            break
        depth += 1
        scores.append(own)
    return depth, combine(scores)


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

    placed: list[str] = []
    broken_by: str | None = None
    for member, sheet, blocker in zip(unit.members, members, blockers, strict=True):
        pin = pins[member]
        if pin is not None:
            placer.assign(member, pin[0])
            placer.pinned[member] = pin[2]
            placer.explain(
                member,
                "member",
                terms=[*group.terms, *sheet.terms],
                nodes=(pin[0],),
                decision=f"left alone on {pin[0]}: {pin[1]}",
                group=unit.name,
            )
            placed.append(member)
            continue
        reason = broken_by or _member_refusal(
            placer, node, group=group, sheet=sheet, blocker=blocker
        )
        if reason is None and node is not None:
            placer.assign(member, node)
            placer.explain(
                member,
                "member",
                terms=[*group.terms, *sheet.terms],
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
            terms=[*group.terms, *sheet.terms],
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


def _member_refusal(
    placer: Placer, node: str | None, *, group: Sheet, sheet: Sheet, blocker: str | None
) -> str | None:
    """Why a member cannot run on the group's node, or None when it can."""
    if blocker is not None:
        return blocker
    if node is None:
        return "its group has no allowed node"
    if node not in placer.available_set:
        return f"{node} is not available"
    if combine((group.total(node), sheet.total(node))) < 0:
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
