"""From the store's runtime records to a ClusterSnapshot: what the leader schedules on.

Pure: it gets the records already read (one range over the cluster's prefix) and the
moments the leader saw nodes go, and returns the snapshot. The rules that keep
"at most one active" are here, so they are tested without a store:

- a node with a live membership key is online (unless that very incarnation was
  fenced and its lease has not run out yet); its observed records are believed
  whatever incarnation wrote them (a restarted agent overwrites them as it probes);
- a node whose key is gone is offline and clean only if its last incarnation shut
  down cleanly or was fenced — otherwise it is unclean, and every resource it may
  have run is still counted as active there until it is fenced;
- a declared node that never joined is offline and clean: hactl never started
  anything there.

Operator intents (reconciler/intents.py) in force at `now` are applied here too: a
node's standby/maintenance override, cluster maintenance, and resource intents as
constraints.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler import intents as operator
from reconciler import keys
from reconciler.agent.membership import MemberInfo
from reconciler.agent.records import (
    CleanShutdown,
    FailcountRecord,
    FenceRecord,
    Incarnation,
    Observed,
)
from reconciler.intent_terms import with_intents
from reconciler.intents import BadIntent, Intent
from reconciler.model.declared import DeclaredState
from reconciler.snapshot import ClusterSnapshot, Failcount, NodeState, ResourceInstance


@dataclass(frozen=True)
class RuntimeRecords:
    """The cluster's runtime records, decoded, by node."""

    members: dict[str, MemberInfo] = field(default_factory=dict)
    incarnations: dict[str, Incarnation] = field(default_factory=dict)
    clean: dict[str, CleanShutdown] = field(default_factory=dict)
    fenced: dict[str, FenceRecord] = field(default_factory=dict)
    observed: dict[str, dict[str, Observed]] = field(default_factory=dict)
    failcounts: dict[str, dict[tuple[str, str], FailcountRecord]] = field(default_factory=dict)
    attributes: dict[str, dict[str, str | int | float | bool]] = field(default_factory=dict)
    shutdown: dict[str, str] = field(default_factory=dict)
    """Node → the incarnation that asked to shut down."""
    intents: dict[str, Intent] = field(default_factory=dict)
    """Operator intents by name (`standby/n1`, `ban/web/n2`, …)."""

    @classmethod
    def decode(
        cls,
        cluster: str,
        values: Mapping[str, bytes],
        *,
        created: Mapping[str, int] | None = None,
    ) -> RuntimeRecords:
        """Sort every key under the cluster's prefix into records; others are ignored.

        `created` gives keys' create revisions where known (an intent's is part of it).
        An unreadable intent is left out: an operator's wish must never stop the leader."""
        records = cls()
        prefix = keys.cluster_prefix(cluster)
        for key, raw in values.items():
            if not key.startswith(prefix):
                continue
            parts = key[len(prefix) :].split("/")
            match parts:
                case ["members", node]:
                    records.members[node] = MemberInfo.from_json(raw)
                case ["incarnations", node]:
                    records.incarnations[node] = Incarnation.from_json(raw)
                case ["clean", node]:
                    records.clean[node] = CleanShutdown.from_json(raw)
                case ["fenced", node]:
                    records.fenced[node] = FenceRecord.from_json(raw)
                case ["observed", node, resource]:
                    records.observed.setdefault(node, {})[resource] = Observed.from_json(raw)
                case ["failcounts", node, resource, operation]:
                    per_node = records.failcounts.setdefault(node, {})
                    per_node[(resource, operation)] = FailcountRecord.from_json(raw)
                case ["shutdown", node]:
                    records.shutdown[node] = raw.decode()
                case ["attributes", node]:
                    records.attributes[node] = dict(json.loads(raw))
                case ["intents", *name] if name:
                    try:
                        found = Intent.from_json(raw, revision=(created or {}).get(key, 0))
                    except BadIntent:
                        continue
                    if found.name == "/".join(name):
                        records.intents[found.name] = found
        return records

    def fenced_now(self, node: str) -> bool:
        """The node's latest incarnation was fenced (its lease may not have run out yet)."""
        last = self.incarnations.get(node)
        fenced = self.fenced.get(node)
        return last is not None and fenced is not None and fenced.incarnation == last.incarnation

    def shutdown_requested(self, node: str) -> bool:
        last = self.incarnations.get(node)
        return last is not None and self.shutdown.get(node) == last.incarnation

    def online(self, node: str) -> bool:
        return node in self.members and not self.fenced_now(node)

    def known_down(self, node: str) -> bool:
        """The node runs nothing hactl started: never joined, fenced, or left cleanly."""
        last = self.incarnations.get(node)
        if last is None:
            return node not in self.members
        if self.fenced_now(node):
            return True
        clean = self.clean.get(node)
        return (
            node not in self.members
            and clean is not None
            and (clean.incarnation == last.incarnation)
        )


def build_snapshot(
    declared: DeclaredState,
    records: RuntimeRecords,
    *,
    lost_at: Mapping[str, float],
    now: float,
) -> ClusterSnapshot:
    """The scheduler's input; `lost_at` holds when the leader saw each lost node go.

    Resource intents in force (move, ban, restart) become constraints of the snapshot's
    declared state (reconciler/intent_terms.py), so a saved input replays with them."""
    nodes: dict[str, NodeState] = {}
    instances: list[ResourceInstance] = []
    overrides = operator.node_overrides(records.intents.values(), now)
    for name in sorted(declared.nodes):
        attributes = records.attributes.get(name, {})
        override = overrides.get(name, operator.NodeOverride())
        if records.online(name):
            leaving = records.shutdown_requested(name)
            nodes[name] = NodeState(
                online=True,
                attributes=attributes,
                standby=True if leaving else override.standby,
                maintenance=override.maintenance,
            )
            believed = records.observed.get(name, {})
        elif records.known_down(name):
            nodes[name] = NodeState(
                online=False,
                attributes=attributes,
                standby=override.standby,
                maintenance=override.maintenance,
            )
            believed = {}
        else:
            nodes[name] = NodeState(
                online=False,
                unclean=True,
                attributes=attributes,
                lost_at=lost_at.get(name),
                standby=override.standby,
                maintenance=override.maintenance,
            )
            believed = records.observed.get(name, {})
        for resource, seen in sorted(believed.items()):
            if seen.possibly_promoted:
                instances.append(ResourceInstance(resource, name, "Promoted", seen.failed))
            elif seen.possibly_active:
                role = "Started" if seen.role == "Stopped" else seen.role
                instances.append(ResourceInstance(resource, name, role, seen.failed))
            elif seen.failed is not None:
                instances.append(ResourceInstance(resource, name, "Stopped", seen.failed))
    failcounts = [
        Failcount(resource, node, record.count, record.last_failure, operation)  # type: ignore[arg-type]
        for node, per_node in sorted(records.failcounts.items())
        for (resource, operation), record in sorted(per_node.items())
        if node in declared.nodes and record.count > 0
    ]
    return ClusterSnapshot(
        declared=with_intents(declared, records.intents.values(), now),
        nodes=nodes,
        resources=tuple(instances),
        failcounts=tuple(failcounts),
        maintenance=operator.cluster_maintenance(records.intents.values(), now),
        observed_at=now,
    )
