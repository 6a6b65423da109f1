"""Colocation: placing a resource with (score > 0) or away from (score < 0) another one.

Colocation works in both directions, as in Pacemaker:

- Once the primary (`with`) is placed, the dependent gets a term: with ±INFINITY it
  may only run on (or never on) the primary's node; with a finite score it prefers
  (or avoids) that node by that much (`dependent_term`).
- Before the primary is placed, it takes the preferences of its not-yet-placed
  dependents into account, scaled by score/INFINITY (`merged_terms`). A mandatory
  dependent's -INFINITY thus keeps its primary off a node the dependent could not
  follow it to. If the merged preferences would leave the primary no node at all, the
  placement rolls them back and the dependent, not the primary, stays stopped
  (Pacemaker's rollback). Only positive colocations pass preferences on: a resource
  is never pushed off its node by what a resource that must avoid it would like
  (Pacemaker does this, and it makes placements flap; docs/scheduler.md).

Role filters: `withRole: Promoted` means "the nodes where the primary is promoted";
`role: Promoted` on a promotable dependent turns the term into a promotion term.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from reconciler.model.kinds import Colocation
from reconciler.model.values import INFINITY
from reconciler.scheduler.groups import depth_at, depth_elsewhere, touched
from reconciler.scheduler.terms import Sheet, Term, combine, score_text

if TYPE_CHECKING:
    from reconciler.scheduler.placement import Placer


def describe(colocation: Colocation) -> str:
    spec = colocation.spec
    role = f" ({spec.role})" if spec.role else ""
    with_role = f" ({spec.with_role})" if spec.with_role else ""
    verb = "with" if spec.score > 0 else "away from"
    return f"{spec.resource}{role} {verb} {spec.with_}{with_role} ({score_text(spec.score)})"


def dependent_term(
    colocation: Colocation,
    primary_nodes: frozenset[str],
    *,
    complement: Callable[[frozenset[str]], tuple[str, ...]],
) -> Term | None:
    """The dependent's term once its primary is placed on `primary_nodes` (maybe none)."""
    score = int(colocation.spec.score)
    ref = ("Colocation", colocation.metadata.name)
    primary = colocation.spec.with_
    where = ", ".join(sorted(primary_nodes))
    if score >= INFINITY:
        if not primary_nodes:
            return Term(-INFINITY, None, f"must run with {primary}, which is not running", ref)
        nodes = complement(primary_nodes)
        return (
            Term(-INFINITY, nodes, f"must run with {primary} (on {where})", ref) if nodes else None
        )
    if not primary_nodes:
        return None
    if score <= -INFINITY:
        return Term(-INFINITY, tuple(sorted(primary_nodes)), f"must not run with {primary}", ref)
    verb = "prefers to run with" if score > 0 else "prefers not to run with"
    return Term(score, tuple(sorted(primary_nodes)), f"{verb} {primary}", ref)


MAX_CHAIN = 64
"""How far down a chain of mandatory colocations a primary looks (bounds the recursion)."""

Preference = dict[str, int]
"""A not-yet-placed resource's own score per node (only the non-zero ones)."""


def scaled(value: int, score: int) -> int:
    """A dependent's score on a node as it weighs on its primary (a positive colocation).

    Preferences and bans pass through scaled by score/INFINITY: all of them for a
    mandatory colocation, ±score for an infinite one under an advisory colocation.
    As in Pacemaker, the result is rounded and a non-zero value never scales to 0 (at
    least ±1): a running dependent's stickiness still decides a tie for its primary.
    """
    if score <= 0 or value == 0:
        return 0
    value = max(-INFINITY, min(INFINITY, value))
    if score >= INFINITY:
        return value
    if abs(value) >= INFINITY:
        return score if value > 0 else -score
    magnitude = max(1, (abs(value) * score * 2 + INFINITY) // (2 * INFINITY))
    return magnitude if value > 0 else -magnitude


def merged_terms(colocation: Colocation, preference: Preference) -> list[Term]:
    """The primary's terms from one dependent's preferences, one term per distinct value."""
    score = int(colocation.spec.score)
    ref = ("Colocation", colocation.metadata.name)
    text = f"preference of {colocation.spec.resource} (colocated {score_text(score)})"
    by_value: dict[int, list[str]] = defaultdict(list)
    for node, value in preference.items():
        delta = scaled(value, score)
        if delta:
            by_value[delta].append(node)
    return [Term(v, tuple(sorted(nodes)), text, ref) for v, nodes in sorted(by_value.items())]


# --- during placement --------------------------------------------------------------


def primary_nodes(placer: Placer, colocation: Colocation) -> frozenset[str] | None:
    """Where the primary of a colocation runs (in the role asked), None if not placed."""
    spec = colocation.spec
    name = spec.with_
    unit = placer.inputs.unit_of.get(name)
    if unit is None or unit not in placer.done:
        return None
    if placer.inputs.is_clone(name):
        if spec.with_role == "Promoted":
            return frozenset(placer.clone_promoted.get(name, ()))
        nodes = list(placer.clone_nodes.get(name, ()))
        if spec.with_role == "Unpromoted":
            for node in placer.clone_promoted.get(name, ()):
                nodes.remove(node)
        return frozenset(nodes)
    if spec.with_role == "Promoted":
        return frozenset()  # a primitive or group is never promoted
    members = placer.inputs.members_of(name)
    placed = [placer.node_of.get(m) for m in members]
    if len(members) == 1 or spec.score <= -INFINITY:
        return frozenset(n for n in placed if n is not None)
    if spec.score >= INFINITY:
        # Pacemaker: a mandatory partner of a group needs the whole group.
        last = placed[-1]
        return frozenset((last,)) if last is not None and None not in placed else frozenset()
    first = placed[0]
    return frozenset((first,)) if first is not None else frozenset()


def dependent_terms(placer: Placer, name: str, *, promotion: bool) -> list[Term]:
    """Terms from colocations with `name` on one side and the other side placed.

    Normally the other side is a primary, placed first. Where a dependency cycle was
    cut, a mandatory dependent may have been placed first: then `name` must follow
    (or avoid) it, so that the constraint holds whichever side went first.
    """
    terms: list[Term] = []
    promotable = placer.inputs.is_promotable(name)
    for colocation in placer.inputs.colocations_of_dependent.get(name, ()):
        on_promotion = promotable and colocation.spec.role == "Promoted"
        if on_promotion != promotion:
            continue
        nodes = primary_nodes(placer, colocation)
        if nodes is None:
            continue
        term = dependent_term(colocation, nodes, complement=placer.complement)
        if term is not None:
            terms.append(term)
    for colocation in placer.inputs.colocations_of_primary.get(name, ()):
        on_promotion = promotable and colocation.spec.with_role == "Promoted"
        if on_promotion == promotion and abs(colocation.spec.score) >= INFINITY:
            term = _reverse_term(placer, colocation)
            if term is not None:
                terms.append(term)
    return terms


def _reverse_term(placer: Placer, colocation: Colocation) -> Term | None:
    """The primary's side of a mandatory colocation whose dependent is placed already."""
    spec = colocation.spec
    dependent = spec.resource
    unit = placer.inputs.unit_of.get(dependent)
    if unit is None or unit not in placer.done:
        return None
    if placer.inputs.is_clone(dependent):
        if spec.role == "Promoted":
            nodes = frozenset(placer.clone_promoted.get(dependent, ()))
        else:
            nodes = frozenset(placer.clone_nodes.get(dependent, ()))
    else:
        members = placer.inputs.members_of(dependent)
        nodes = frozenset(n for m in members if (n := placer.node_of.get(m)) is not None)
    if not nodes:
        return None
    ref = ("Colocation", colocation.metadata.name)
    where = ", ".join(sorted(nodes))
    if spec.score > 0:
        text = f"{dependent} must run with it and was placed first (on {where})"
        if placer.inputs.is_clone(spec.with_):
            # A clone needs an instance there, not all of its instances there.
            return Term(INFINITY, tuple(sorted(nodes)), text, ref)
        others = placer.complement(nodes)
        return Term(-INFINITY, others, text, ref) if others else None
    text = f"{dependent} must not run with it and was placed first (on {where})"
    return Term(-INFINITY, tuple(sorted(nodes)), text, ref)


def merge_dependents(
    placer: Placer,
    unit_name: str,
    *,
    sheet: Sheet,
    promotion: Sheet | None,
    feasible: Callable[[Sheet], bool],
) -> list[str]:
    """Fold in the preferences of dependents not placed yet; roll back what strands us."""
    notes: list[str] = []
    for name in placer.names(unit_name):
        for colocation in placer.inputs.colocations_of_primary.get(name, ()):
            dependent = colocation.spec.resource
            dependent_unit = placer.inputs.unit_of.get(dependent)
            if dependent_unit is None or dependent_unit == unit_name:
                continue
            if dependent_unit in placer.done:
                continue
            if colocation.spec.role == "Promoted" and placer.inputs.is_promotable(dependent):
                continue
            terms = merged_terms(colocation, _preference(placer, dependent_unit))
            if not terms:
                continue
            target = sheet
            if promotion is not None and colocation.spec.with_role == "Promoted":
                target = promotion
            target.extend(terms)
            if target is sheet and not feasible(sheet):
                sheet.discard(terms)
                notes.append(
                    f"ignored the preferences of {dependent} ({describe(colocation)}): "
                    f"they would leave no node"
                )
    return notes


def _preference(
    placer: Placer, unit_name: str, *, visiting: frozenset[str] = frozenset()
) -> Preference:
    """A unit's own scores, as they weigh on the resources it is colocated with.

    The unit's own terms, plus — following mandatory colocations down the chain — the
    preferences of what must run with it in turn, so that a primary does not strand a
    dependent's dependent.
    """
    cached = placer.preferences.get(unit_name)
    if cached is not None:
        return cached
    preference = _own_preference(placer, unit_name)
    for name in placer.names(unit_name):
        for colocation in placer.inputs.colocations_of_primary.get(name, ()):
            dependent = placer.inputs.unit_of.get(colocation.spec.resource)
            if (
                colocation.spec.score < INFINITY
                or colocation.spec.role == "Promoted"
                or dependent is None
                or dependent in placer.done
                or dependent in visiting
                or dependent == unit_name
                or len(visiting) >= MAX_CHAIN
            ):
                continue
            inner = _preference(placer, dependent, visiting=visiting | {unit_name})
            for node, value in inner.items():
                preference[node] = combine((preference.get(node, 0), value))
    placer.preferences[unit_name] = preference
    return preference


def _own_preference(placer: Placer, unit_name: str) -> Preference:
    unit = placer.inputs.units[unit_name]
    preference: Preference = {}
    if unit.kind == "group":
        group, members = placer.group_sheets(unit, with_colocations=False)
        runnable = [True] * len(members)
        named = touched(group, members)
        depths = {
            n: depth_at(n, group, members=members, runnable=runnable)
            for n in named
            if n in placer.available_set
        }
        if any(n not in named for n in placer.available):
            deepest = depth_elsewhere(group, members=members, runnable=runnable)[0]
        else:
            deepest = max((d for d, _ in depths.values()), default=0)
        for node in named:
            depth, score = depths.get(node, (0, -INFINITY))
            value = score if depth >= deepest else -INFINITY
            if value:
                preference[node] = value
    else:
        sheet = Sheet()
        sheet.extend(placer.base.placement_terms(unit_name))
        for node in sheet.touched_nodes():
            value = sheet.total(node)
            if value:
                preference[node] = value
    return preference
