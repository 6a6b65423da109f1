"""Clones and promotable clones: how many instances, on which nodes, which one promoted.

Instances spread before they stack: every allowed node gets one instance before any
gets a second (`perNode`), highest score first, then Pacemaker's tie-breaking (fewest
resources assigned, a node already running an instance, name). Promotion then picks up
to `promotedMax` of the placed instances by promotion score: the agent's reported
score (0 when it reported none), role-Promoted locations and colocations, and
stickiness on the node already promoted. A node whose promotion score is negative is
never promoted — a DRBD secondary with outdated data reports -INFINITY.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from reconciler.model.kinds import Clone
from reconciler.scheduler.terms import Sheet, score_text

if TYPE_CHECKING:
    from reconciler.scheduler.placement import Placer


def instance_count(spec: Clone, node_count: int) -> int:
    """How many instances a clone has at most: `max`, else one per node."""
    return spec.max if spec.max is not None else node_count


def place_instances(
    spec: Clone,
    *,
    sheet: Sheet,
    allowed: Sequence[str],
    limit: int,
    fixed: Sequence[str],
    running: Mapping[str, int],
    load: Mapping[str, int],
    stay: bool,
) -> list[str]:
    """Choose the nodes of up to `limit` instances; `fixed` instances (blocked) count first.

    A running instance keeps its node on a tie, before load counts, whatever the
    stickiness: Pacemaker assigns running instances to their nodes first, so equal nodes
    never trade instances for balance.
    """
    chosen: Counter[str] = Counter(fixed)
    scores = {node: sheet.total(node) for node in allowed}
    eligible = [node for node in allowed if scores[node] >= 0]
    placed: list[str] = list(fixed)
    while len(placed) < limit:
        open_nodes = [n for n in eligible if chosen[n] < spec.per_node]
        if not open_nodes:
            break
        best = min(
            open_nodes,
            key=lambda n: (
                chosen[n],
                0 if stay and running.get(n, 0) > chosen[n] else 1,
                -scores[n],
                0 if running.get(n, 0) > chosen[n] else 1,
                load.get(n, 0) + chosen[n],
                n,
            ),
        )
        chosen[best] += 1
        placed.append(best)
    return sorted(placed)


def choose_promoted(
    spec: Clone,
    *,
    nodes: Sequence[str],
    promotion: Sheet,
    promoted_now: Sequence[str],
    fixed_promoted: Sequence[str],
    stay: bool,
    sticky: bool,
) -> tuple[list[str], str]:
    """Which placed instances to promote, and a sentence saying why."""
    counts = Counter(nodes)
    promoted: Counter[str] = Counter(fixed_promoted)
    scores = {node: promotion.total(node) for node in counts}
    candidates = sorted(
        (n for n in counts if scores[n] >= 0),
        key=lambda n: (
            0 if stay and n in promoted_now else 1,
            -scores[n],
            0 if sticky and n in promoted_now else 1,
            0 if n in promoted_now else 1,
            n,
        ),
    )
    for node in candidates:
        if sum(promoted.values()) >= spec.promoted_max:
            break
        room = min(spec.promoted_per_node, counts[node]) - promoted[node]
        promoted[node] += max(0, min(room, spec.promoted_max - sum(promoted.values())))
    chosen = sorted(promoted.elements())
    if not chosen:
        refused = sorted(n for n in counts if scores[n] < 0)
        why = "no instance may be promoted"
        if refused:
            why += f" (negative promotion score on {', '.join(refused)})"
        return chosen, why
    best = chosen[0]
    return chosen, f"promoted on {', '.join(chosen)} (promotion score {score_text(scores[best])})"


def place_clone(placer: Placer, name: str) -> None:
    """Place a clone's instances, then choose which of them to promote."""
    spec = placer.inputs.resources[name].spec.clone
    assert spec is not None, "only clones are placed as clones"
    sheet = Sheet()
    sheet.extend(placer.base.placement_terms(name))
    sheet.extend(placer.dependent_terms(name, promotion=False))
    promotion = Sheet()
    if spec.promotable:
        promotion.extend(placer.base.promotion_terms(name))
        promotion.extend(placer.dependent_terms(name, promotion=True))
    instances = placer.base.instances(name)
    fixed = sorted(o.node for o in instances if o.state == "blocked")
    running = Counter(o.node for o in instances if o.state in ("healthy", "failed"))
    blocker = placer.blocker(name)
    notes: list[str] = []
    if blocker is None:
        notes = placer.merge_dependents(
            name,
            sheet=sheet,
            promotion=promotion if spec.promotable else None,
            feasible=placer.feasible,
        )
        limit = instance_count(spec, len(placer.inputs.node_names))
        if not placer.inputs.quorum.may_start:  # freeze: no instance that does not run
            limit = min(limit, sum(running.values()) + len(fixed))
        nodes = place_instances(
            spec,
            sheet=sheet,
            allowed=placer.available,
            limit=limit,
            fixed=fixed,
            running=running,
            load=placer.load.count,
            stay=placer.stay,
        )
        decision = (
            f"{len(nodes)} instance(s) on {', '.join(nodes)}"
            if nodes
            else ("cannot run: no allowed node")
        )
    else:
        nodes = list(fixed)
        decision = f"cannot run: {blocker}"
    promoted = sorted(o.node for o in instances if o.state == "blocked" and o.role == "Promoted")
    if spec.promotable and nodes:
        promoted, why = _promote(placer, name, nodes=nodes, promotion=promotion, fixed=promoted)
        decision += f"; {why}"
    for node in nodes:
        placer.load.add(node)
    placer.clone_nodes[name] = nodes
    placer.clone_promoted[name] = promoted
    placer.explain(
        name,
        "clone",
        terms=sheet.terms,
        nodes=tuple(nodes),
        decision=decision,
        notes=notes,
        promotion=promotion,
    )


def _promote(
    placer: Placer, name: str, *, nodes: list[str], promotion: Sheet, fixed: list[str]
) -> tuple[list[str], str]:
    """The promoted nodes among the placed ones (blocked promoted instances stay)."""
    refusal = promotion_blocker(placer, name)
    if refusal is not None:
        return fixed, f"not promoted: {refusal}"
    spec = placer.inputs.resources[name].spec.clone
    assert spec is not None, "only clones are promoted"
    promoted_now = sorted(
        o.node
        for o in placer.base.instances(name)
        if o.role == "Promoted" and o.state in ("healthy", "failed")
    )
    if not placer.inputs.quorum.may_start:
        # A promotion, like a start, needs quorum: the other partition may promote too
        # (two primaries). What is promoted stays so while it may; nothing else is.
        kept = [n for n in promoted_now if n in nodes and promotion.total(n) >= 0]
        return sorted({*fixed, *kept}), "no quorum: nothing new is promoted"
    return choose_promoted(
        spec,
        nodes=[n for n in nodes if n in placer.available_set or n in fixed],
        promotion=promotion,
        promoted_now=promoted_now,
        fixed_promoted=fixed,
        stay=placer.stay,
        sticky=placer.sticky((name,)),
    )


def promotion_blocker(placer: Placer, name: str) -> str | None:
    """Why a clone may not be promoted at all (disabled, or a Mandatory order), or None."""
    if placer.inputs.resources[name].spec.meta.target_role == "Stopped":
        return "targetRole is Stopped"
    for order in placer.inputs.orders_of_then.get(name, ()):
        spec = order.spec
        if (
            spec.kind == "Mandatory"
            and spec.then_action == "promote"
            and (not placer.runnable(spec.first, spec.first_action))
        ):
            return f"order {order.metadata.name}: {spec.first} cannot {spec.first_action}"
    return None
