"""The CIB's status section: membership, transient attributes and resource history.

Each known node gets a node_state saying whether it is in the membership, its
transient attributes — its own, the `fail-count-RSC#OP_INTERVAL` / `last-failure-…`
of its failcounts, the `master-RSC` promotion scores crm_master would write — and the
history of what runs there (history.py).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from xml.etree.ElementTree import Element, SubElement

from reconciler.cib.document import Export, nvset, score, text
from reconciler.cib.history import lrm_resource, monitor_interval
from reconciler.cib.ids import resource_id
from reconciler.model.values import INFINITY
from reconciler.snapshot import NodeState, ResourceInstance


def status(export: Export, parent: Element) -> None:
    """A node_state per node whose state is known (or recorded as lost), in name order."""
    section = SubElement(parent, "status")
    snapshot = export.snapshot
    by_node: dict[str, list[tuple[str, ResourceInstance]]] = defaultdict(list)
    for lrm_id, instance in zip(_lrm_ids(export), snapshot.resources, strict=True):
        by_node[instance.node].append((lrm_id, instance))
    for name in sorted(export.declared.nodes):
        state = snapshot.nodes.get(name)
        instances = by_node.get(name, [])
        if state is None and not instances:
            continue  # never seen: Pacemaker's unseen node, fenced at startup like hactl's
        if state is not None and not state.online and not state.unclean:
            instances = []  # cleanly down (or fenced): runs nothing, whatever was reported
        _node_state(export, section, name, state, instances)


def _lrm_ids(export: Export) -> list[str]:
    """The lrm_resource id of every observed instance.

    An anonymous clone's instances all go by the primitive's id (one per node); a
    second copy on the same node, and every instance of a globally unique clone (hactl's
    perNode > 1), is numbered, as Pacemaker numbers them.
    """
    ids: list[str] = []
    numbered: Counter[str] = Counter()
    per_node: Counter[tuple[str, str]] = Counter()
    for instance in export.snapshot.resources:
        rid = resource_id(instance.resource)
        resource = export.declared.resources.get(instance.resource)
        clone = resource.spec.clone if resource is not None else None
        if clone is not None and clone.per_node > 1:
            ids.append(f"{rid}:{numbered[rid]}")
            numbered[rid] += 1
            continue
        copy = per_node[(rid, instance.node)]
        per_node[(rid, instance.node)] += 1
        ids.append(rid if copy == 0 else f"{rid}:{copy}")
    return ids


def _node_state(
    export: Export,
    parent: Element,
    name: str,
    state: NodeState | None,
    instances: list[tuple[str, ResourceInstance]],
) -> None:
    element = SubElement(parent, "node_state", {"id": name, "uname": name, **_membership(state)})
    pairs = [(k, text(v)) for k, v in sorted((state.attributes if state else {}).items())]
    pairs += _failure_attributes(export, name)
    pairs += _promotion_attributes(export, name)
    if pairs:
        transient = SubElement(element, "transient_attributes", id=name)
        nvset(export, transient, "instance_attributes", f"status-{name}", pairs)
    if instances:
        lrm = SubElement(element, "lrm", id=name)
        resources = SubElement(lrm, "lrm_resources")
        for lrm_id, instance in instances:
            lrm_resource(export, resources, instance, lrm_id)


def _membership(state: NodeState | None) -> dict[str, str]:
    """in_ccm/crmd/join/expected for online, offline, lost and unclean-member nodes.

    A node expected up that left the membership is lost (fenced); one still in the
    membership whose controller is gone is "no longer available" (fenced too, as hactl
    fences an unclean member); one that left as expected is cleanly down.
    """
    if state is None or (not state.online and state.unclean):
        return {"in_ccm": "false", "crmd": "offline", "join": "member", "expected": "member"}
    if state.unclean:
        return {"in_ccm": "true", "crmd": "offline", "join": "member", "expected": "member"}
    if not state.online:
        return {"in_ccm": "false", "crmd": "offline", "join": "down", "expected": "down"}
    return {"in_ccm": "true", "crmd": "online", "join": "member", "expected": "member"}


# --- attributes ----------------------------------------------------------------------


def _failure_attributes(export: Export, node: str) -> list[tuple[str, str]]:
    """fail-count/last-failure per resource and operation (summed, the latest failure)."""
    counts: dict[tuple[str, str], int] = defaultdict(int)
    latest: dict[tuple[str, str], float] = {}
    for record in export.snapshot.failcounts:
        if record.node != node or record.count <= 0:
            continue
        resource = export.declared.resources.get(record.resource)
        interval = 0
        if record.operation == "monitor":
            interval = monitor_interval(resource, None)
        key = (resource_id(record.resource), f"{record.operation}_{interval}")
        counts[key] = min(INFINITY, counts[key] + record.count)
        latest[key] = max(latest.get(key, record.last_failure), record.last_failure)
    pairs: list[tuple[str, str]] = []
    for rid, op in sorted(counts):
        pairs.append((f"fail-count-{rid}#{op}", score(counts[(rid, op)])))
        pairs.append((f"last-failure-{rid}#{op}", str(int(latest[(rid, op)]))))
    return pairs


def _promotion_attributes(export: Export, node: str) -> list[tuple[str, str]]:
    return [
        (f"master-{resource_id(rsc)}", score(scores[node]))
        for rsc, scores in sorted(export.snapshot.promotion_scores.items())
        if node in scores
    ]


# --- resource history ----------------------------------------------------------------
