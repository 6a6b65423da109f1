"""The cluster's status as `hactl status` shows it (crm_mon's view), computed purely
from declared state and the runtime records."""

from __future__ import annotations

import time
from typing import Any

from reconciler import intents as operator
from reconciler.agent.decisions import Decision
from reconciler.agent.observe import RuntimeRecords
from reconciler.model.declared import DeclaredState


def node_state(
    declared: DeclaredState, records: RuntimeRecords, node: str, *, now: float | None = None
) -> str:
    """online, standby, maintenance, offline, unclean or fenced: declared standby and
    maintenance with the operator's run-time overrides (intents) applied."""
    spec = declared.nodes[node].spec if node in declared.nodes else None
    override = operator.node_overrides(
        records.intents.values(), time.time() if now is None else now
    ).get(node, operator.NodeOverride())
    if records.online(node):
        maintenance = spec is not None and spec.maintenance
        standby = spec is not None and spec.standby
        if override.maintenance is not None:
            maintenance = override.maintenance
        if override.standby is not None:
            standby = override.standby
        if maintenance:
            return "maintenance"
        if standby or records.shutdown_requested(node):
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
    now: float | None = None,
) -> dict[str, Any]:
    """SPEC §3's `hactl status -o json` shape, with a few more keys: `maintenance` (the
    whole cluster) and `intents` (the operator intents in force)."""
    now = time.time() if now is None else now
    nodes = {
        name: {"state": node_state(declared, records, name, now=now)}
        for name in sorted(declared.nodes)
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
    in_force = operator.active(records.intents.values(), now)
    return {
        "leader": leader,
        "maintenance": operator.cluster_maintenance(in_force, now),
        "nodes": nodes,
        "resources": resources,
        "pending": pending,
        "intents": [intent.as_dict() for intent in in_force],
    }
