"""The leader's writes that move resources: claims toward the plan, then each node's steps.

Claims first (store-enforced at most N, see claims.py), then decisions: a start or
promote is handed only to a node the claim names, so a plan can never outrun its claims.
"""

from __future__ import annotations

import asyncio

from reconciler import keys
from reconciler.agent.claims import Claim, plan_claims
from reconciler.agent.decisions import Decision, Step, ready_steps, targets
from reconciler.agent.election import Election
from reconciler.agent.observe import RuntimeRecords
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition
from reconciler.store.base import Delete, KeyValue, Put, Store

CLAIM_BATCH = 32
"""Claim changes per transaction: well inside etcd's default 128 operations."""


async def move_claims(
    store: Store,
    *,
    cluster: str,
    election: Election,
    declared: DeclaredState,
    transition: Transition,
    records: RuntimeRecords,
    values: dict[str, KeyValue],
) -> dict[str, Claim]:
    """Move claims as far toward the plan as evidence allows; returns the claims now held."""
    prefix = keys.claims_prefix(cluster)
    current = {
        key[len(prefix) :]: (Claim.from_json(kv.value), kv.mod_revision)
        for key, kv in values.items()
        if key.startswith(prefix)
    }
    active, promoted = targets(transition)
    changes = await asyncio.to_thread(
        plan_claims,
        cluster=cluster,
        declared=declared,
        records=records,
        claims=current,
        evidence=values,
        targets=active,
        promote_targets=promoted,
    )
    claims = {name: claim for name, (claim, _) in current.items()}
    for start in range(0, len(changes), CLAIM_BATCH):
        batch = changes[start : start + CLAIM_BATCH]
        compares = [election.guard(), *(c for ch in batch for c in ch.compares)]
        puts = [Put(keys.claim(cluster, ch.resource), ch.new.to_json()) for ch in batch]
        result = await store.txn(compares, puts)
        if result.succeeded:
            claims.update((ch.resource, ch.new) for ch in batch)
    return claims


async def hand_out(
    store: Store,
    *,
    cluster: str,
    election: Election,
    nodes: list[str],
    transition: Transition,
    claims: dict[str, Claim],
    values: dict[str, KeyValue],
    cleanups: dict[str, tuple[str, ...]],
) -> int:
    """Write each node's decision where it differs; returns the number written."""
    token = election.token
    if token is None:
        return 0
    ready = ready_steps(transition, claims, nodes)
    for node, resources in cleanups.items():
        extra = (Step("cleanup", resource) for resource in resources)
        ready[node] = tuple(sorted({*ready.get(node, ()), *extra}))
    writes: list[Put | Delete] = []
    for node, steps in ready.items():
        key = keys.decisions(cluster, node)
        body = Decision(token, steps).to_json()
        kv = values.get(key)
        if kv is None or kv.value != body:
            writes.append(Put(key, body))
    if writes:
        await store.txn([election.guard()], writes)
    return len(writes)
