"""Reading the whole cluster from the store, for the commands that look at it.

`status`, `wait`, the `--wait` of `apply` and `node`, and the operator commands all
need the same thing: the declared state, every runtime record (intents included), the
decisions the leader handed out and who the leader is, read at one moment. One reader
keeps them consistent with what the leader itself reads each round.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler import declared_store, keys
from reconciler.agent.decisions import Decision
from reconciler.agent.election import current_leader
from reconciler.agent.observe import RuntimeRecords
from reconciler.model.declared import DeclaredState
from reconciler.store.base import KeyValue, Store


@dataclass(frozen=True)
class ClusterReading:
    """Declared and runtime state as one command saw it."""

    declared: DeclaredState
    records: RuntimeRecords
    decisions: dict[str, Decision]
    leader: str | None
    revision: int
    """The store revision the runtime records were read at (watch from revision + 1)."""


async def read_runtime(store: Store, cluster: str) -> tuple[dict[str, KeyValue], int]:
    """Every runtime key (keys.RUNTIME_PREFIXES) and the revision of the first read."""
    values: dict[str, KeyValue] = {}
    first = 0
    for part in keys.RUNTIME_PREFIXES:
        found, revision = await store.range(keys.cluster_prefix(cluster) + part)
        first = first or revision
        values.update((kv.key, kv) for kv in found)
    return values, first


async def read_cluster(store: Store, cluster: str) -> ClusterReading:
    declared = await declared_store.read_declared(store, cluster)
    values, revision = await read_runtime(store, cluster)
    records = RuntimeRecords.decode(
        cluster,
        {k: kv.value for k, kv in values.items()},
        created={k: kv.create_revision for k, kv in values.items()},
    )
    prefix = keys.cluster_prefix(cluster) + "decisions/"
    decisions = {
        key[len(prefix) :]: Decision.from_json(kv.value)
        for key, kv in values.items()
        if key.startswith(prefix)
    }
    leader = await current_leader(store, cluster)
    return ClusterReading(
        declared=declared,
        records=records,
        decisions=decisions,
        leader=leader.node if leader else None,
        revision=revision,
    )
