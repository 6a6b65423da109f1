"""The leader's share of operator intents, decided purely from one round's reading.

- an intent whose lifetime ran out is removed (it stopped counting at `until` already);
- a `restart` is done once no instance of its resource is possibly active (the intent
  held it at targetRole Stopped; removing the intent lets it start again);
- a `cleanup` forgets the failures recorded *before* it: failcount records and failed
  observed records whose store revision is older than the intent's create revision.
  Revisions, not clocks, decide "before", so skewed clocks cannot make a cleanup eat a
  newer failure. A node with an agent does its own share (it also holds the counts in
  memory, and a failed resource must be probed again): the leader hands it a
  `cleanup` step. For a node known to run nothing (never joined, fenced, left
  cleanly) the leader deletes the old failcounts itself. A lost, unfenced node keeps
  its failures: its state is unknown. The intent is done when no work is left.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler import keys
from reconciler.agent.observe import RuntimeRecords
from reconciler.intent_terms import restart_pending
from reconciler.intents import Intent
from reconciler.model.declared import DeclaredState
from reconciler.snapshot import ClusterSnapshot


@dataclass(frozen=True)
class IntentWork:
    finished: dict[str, str] = field(default_factory=dict)
    """Intent name → why it is finished (expired, restarted, cleaned up)."""
    node_cleanups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """Node → resources whose old failures that node must forget (a `cleanup` step)."""
    stale_keys: tuple[str, ...] = ()
    """Failcount keys of nodes without an agent, for the leader to delete."""


def cleanup_work(
    cluster: str,
    intent: Intent,
    declared: DeclaredState,
    records: RuntimeRecords,
    revisions: Mapping[str, int],
) -> tuple[list[str], list[str]]:
    """(nodes that must clean up themselves, failcount keys the leader may delete)."""
    resource = intent.resource or ""
    nodes = [intent.node] if intent.node else sorted(declared.nodes)
    own: list[str] = []
    stale: list[str] = []
    for node in nodes:
        counts = [
            keys.failcount(cluster, node, resource, op)
            for (res, op) in records.failcounts.get(node, {})
            if res == resource
        ]
        old_counts = [k for k in counts if revisions.get(k, 0) < intent.revision]
        seen = records.observed.get(node, {}).get(resource)
        observed_key = keys.observed(cluster, node, resource)
        old_failure = (
            seen is not None
            and seen.failed is not None
            and revisions.get(observed_key, 0) < intent.revision
        )
        if not old_counts and not old_failure:
            continue
        if records.online(node):
            own.append(node)
        elif records.known_down(node):
            stale.extend(old_counts)
    return own, stale


def intent_work(
    cluster: str,
    records: RuntimeRecords,
    snapshot: ClusterSnapshot,
    *,
    declared: DeclaredState,
    revisions: Mapping[str, int],
    now: float,
) -> IntentWork:
    """What the leader does about intents this round (`declared`: the manifests alone)."""
    finished: dict[str, str] = {}
    node_cleanups: dict[str, list[str]] = {}
    stale_keys: list[str] = []
    active_now = {i.resource for i in snapshot.resources if i.active}
    for name, intent in sorted(records.intents.items()):
        if intent.expired(now):
            finished[name] = "expired"
        elif intent.kind == "restart":
            if not active_now.intersection(restart_pending(declared, intent)):
                finished[name] = "stopped; starting again"
        elif intent.kind == "cleanup":
            own, stale = cleanup_work(cluster, intent, declared, records, revisions)
            for node in own:
                node_cleanups.setdefault(node, []).append(intent.resource or "")
            stale_keys.extend(stale)
            if not own and not stale:
                finished[name] = "failures forgotten"
    return IntentWork(
        finished=finished,
        node_cleanups={n: tuple(sorted(set(r))) for n, r in node_cleanups.items()},
        stale_keys=tuple(sorted(set(stale_keys))),
    )
