"""Text renderings of a transition, in the spirit of `crm_simulate -S`.

Pure functions from a snapshot and a transition to lines: the cluster status, the
transition summary (Start, Stop, Move, Recover, Restart, Promote, Demote, Fence — one
line per resource, the words Pacemaker's users know), the ordered actions, and the
allocation scores (`--scores`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from reconciler.scheduler.terms import score_text
from reconciler.scheduler.transition import Action, Transition
from reconciler.snapshot import ClusterSnapshot


def status_lines(snapshot: ClusterSnapshot) -> list[str]:
    """Nodes by state, then every resource with where it runs (crm_mon's summary)."""
    declared = snapshot.declared
    states: dict[str, list[str]] = defaultdict(list)
    for name, node in sorted(declared.nodes.items()):
        state = snapshot.nodes.get(name)
        if state is None:
            states["UNKNOWN"].append(name)
        elif state.unclean:
            states["UNCLEAN (online)" if state.online else "OFFLINE (unclean)"].append(name)
        elif not state.online:
            states["OFFLINE"].append(name)
        elif snapshot.maintenance or (
            node.spec.maintenance if state.maintenance is None else state.maintenance
        ):
            states["Maintenance"].append(name)
        elif node.spec.standby if state.standby is None else state.standby:
            states["Standby"].append(name)
        else:
            states["Online"].append(name)
    lines = ["  * Node List:"]
    for label in (
        "Online",
        "Standby",
        "Maintenance",
        "OFFLINE",
        "OFFLINE (unclean)",
        "UNCLEAN (online)",
        "UNKNOWN",
    ):
        if states[label]:
            lines.append(f"    * {label}: [ {' '.join(states[label])} ]")
    lines.append("  * Full List of Resources:")
    running: dict[str, list[str]] = defaultdict(list)
    for inst in snapshot.resources:
        if not inst.active:
            continue
        role = "FAILED" if inst.failed else inst.role
        running[inst.resource].append(f"{role} {inst.node}")
    for name, resource in sorted(declared.resources.items()):
        where = ", ".join(sorted(running.pop(name, []))) or "Stopped"
        lines.append(f"    * {name}\t({resource.spec.agent}):\t {where}")
    for name, orphans in sorted(running.items()):
        lines.append(f"    * {name}\t(ORPHANED):\t {', '.join(sorted(orphans))}")
    return lines


def summary_lines(snapshot: ClusterSnapshot, transition: Transition) -> list[str]:
    """One line per fenced node and per resource that changes."""
    lines = [f"  * Fence (reboot) {f.node} '{f.reason}'" for f in transition.fencing]
    by_resource: dict[str, list[Action]] = defaultdict(list)
    for action in transition.actions:
        if action.resource is not None:
            by_resource[action.resource].append(action)
    lost = _lost(snapshot, transition)
    rows: list[tuple[str, str, str, str]] = []
    names = sorted(set(by_resource) | set(lost))
    clones = {n for n, r in snapshot.declared.resources.items() if r.spec.clone is not None}
    for name in names:
        actions = by_resource.get(name, [])
        if name in clones:
            rows.extend(_clone_rows(name, actions))
        else:
            rows.extend(
                _primitive_rows(name, actions, lost=lost.get(name, []), transition=transition)
            )
    width = max((len(r[1]) for r in rows), default=0)
    where_width = max((len(r[2]) for r in rows), default=0)
    for verb, name, where, why in rows:
        suffix = f"  {why}" if why else ""
        lines.append(f"  * {verb:<10} {name:<{width}} ( {where:>{where_width}} ){suffix}")
    return lines


def _lost(snapshot: ClusterSnapshot, transition: Transition) -> dict[str, list[str]]:
    """Resources that stop with a node the transition fences (no stop action of theirs)."""
    fenced = set(transition.fence)
    lost: dict[str, list[str]] = defaultdict(list)
    for inst in snapshot.resources:
        if inst.active and inst.node in fenced:
            lost[inst.resource].append(inst.node)
    return lost


def _primitive_rows(
    name: str, actions: list[Action], *, lost: list[str], transition: Transition
) -> list[tuple[str, str, str, str]]:
    stops = [a for a in actions if a.op == "stop"]
    starts = [a for a in actions if a.op == "start"]
    sources = [a.node for a in stops] + lost
    recovering = any(a.reason.startswith("recover") for a in stops)
    if starts:
        target = starts[0].node
        if not sources:
            return [("Start", name, target, "")]
        if target in sources:
            restart = next((a.reason for a in starts if a.reason.startswith("restart: ")), "")
            if recovering:
                return [("Recover", name, target, "")]
            return [("Restart", name, target, _due(restart.removeprefix("restart: ")))]
        verb = "Recover" if recovering else "Move"
        return [(verb, name, f"{sources[0]} -> {target}", "")]
    if lost and not stops:
        return [("Stop", name, lost[0], f"due to fencing of {lost[0]}")]
    explanation = transition.explanations.get(name)
    why = explanation.decision.removeprefix("cannot run: ") if explanation else stops[0].reason
    return [
        ("Stop", name, a.node, _due(why if not a.reason.startswith("active on") else a.reason))
        for a in stops
    ]


def _clone_rows(name: str, actions: list[Action]) -> list[tuple[str, str, str, str]]:
    rows = []
    per_node: dict[str, list[str]] = defaultdict(list)
    for action in actions:
        per_node[action.node].append(action.op)
    for node, ops in sorted(per_node.items()):
        if "stop" in ops and "start" in ops:
            rows.append(("Recover", name, node, ""))
        elif "start" in ops:
            rows.append(("Start", name, node, ""))
        elif "stop" in ops:
            rows.append(("Stop", name, node, ""))
        if "promote" in ops and "demote" not in ops:
            rows.append(("Promote", name, f"Unpromoted -> Promoted {node}", ""))
        elif "demote" in ops and "promote" not in ops:
            rows.append(("Demote", name, f"Promoted -> Unpromoted {node}", ""))
    return rows


def _due(reason: str) -> str:
    return f"due to {reason}" if reason else ""


def action_lines(transition: Transition) -> list[str]:
    """The plan in order, each with what it waits for."""
    lines = []
    for action in transition.actions:
        after = f"  (after {', '.join(str(i) for i in action.after)})" if action.after else ""
        what = (
            f"Fencing {action.node}"
            if action.op == "fence"
            else (f"Resource action: {action.resource:<16} {action.op} on {action.node}")
        )
        lines.append(f"  * [{action.id}] {what}{after}")
    return lines


def score_lines(transition: Transition, nodes: Iterable[str]) -> list[str]:
    """Every resource's total score per node (and promotion scores), like crm_simulate -s."""
    lines = []
    node_list = sorted(nodes)
    for name, explanation in sorted(transition.explanations.items()):
        for node in node_list:
            score = explanation.score_on(node, transition.node_terms)
            lines.append(
                f"{explanation.kind} {name} allocation score on {node}: {score_text(score)}"
            )
        if explanation.promotion_terms:
            for node in node_list:
                score = explanation.promotion_score_on(node)
                lines.append(
                    f"{explanation.kind} {name} promotion score on {node}: {score_text(score)}"
                )
    return lines


def scores_data(transition: Transition, nodes: Iterable[str]) -> dict[str, dict[str, str]]:
    """Every resource's total score per node, as data: {resource: {node: score}}."""
    node_list = sorted(nodes)
    return {
        name: {
            node: score_text(explanation.score_on(node, transition.node_terms))
            for node in node_list
        }
        for name, explanation in sorted(transition.explanations.items())
    }
