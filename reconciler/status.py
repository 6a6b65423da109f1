"""The cluster's status as `hactl status` shows it (crm_mon's view), computed purely
from declared state and the runtime records."""

from __future__ import annotations

from typing import Any

from reconciler.agent.decisions import Decision
from reconciler.agent.observe import RuntimeRecords
from reconciler.model.declared import DeclaredState


def node_state(declared: DeclaredState, records: RuntimeRecords, node: str) -> str:
    spec = declared.nodes[node].spec if node in declared.nodes else None
    if records.online(node):
        if spec is not None and spec.maintenance:
            return "maintenance"
        if (spec is not None and spec.standby) or records.shutdown_requested(node):
            return "standby"
        return "online"
    if records.fenced_now(node):
        return "fenced"
    return "offline" if records.known_down(node) else "unclean"


def status_view(
    declared: DeclaredState,
    records: RuntimeRecords,
    *,
    leader: str | None,
    decisions: dict[str, Decision],
) -> dict[str, Any]:
    """SPEC §3's `hactl status -o json` shape, with a few more keys."""
    nodes = {
        name: {"state": node_state(declared, records, name)} for name in sorted(declared.nodes)
    }
    resources: dict[str, Any] = {}
    for name in sorted(declared.resources):
        where: dict[str, str] = {}
        for node in sorted(declared.nodes):
            seen = records.observed.get(node, {}).get(name)
            if seen is None or nodes[node]["state"] in ("fenced", "offline"):
                continue
            # What the node reported doing, not what it may be about to do: a pending
            # start shows as pending, and the resource as not yet started.
            if seen.failed is not None:
                where[node] = "Failed"
            elif seen.role == "Promoted":
                where[node] = "Promoted"
            elif seen.role in ("Started", "Unpromoted"):
                where[node] = "Started"
        failcount = {
            node: sum(
                r.count for (res, _), r in records.failcounts.get(node, {}).items() if res == name
            )
            for node in sorted(declared.nodes)
        }
        first = next(iter(where), None)
        promoted = [n for n, role in where.items() if role == "Promoted"]
        main = promoted[0] if promoted else first
        resources[name] = {
            "node": main,
            "role": where[main] if main else "Stopped",
            "nodes": where,
            "failcount": failcount,
        }
    pending = [
        {"node": node, "op": step.op, "resource": step.resource}
        for node, decision in sorted(decisions.items())
        for step in decision.steps
    ]
    return {"leader": leader, "nodes": nodes, "resources": resources, "pending": pending}
