"""Claims: the store-enforced permission to run (and to promote) a resource on a node.

The scheduler decides where resources should run; claims make sure that no decision,
right or wrong, can put a resource on more nodes than it may run on. A node starts
or promotes a resource only in a store transaction that checks the resource's claim
names it; the leader takes a node out of a claim only in a transaction that checks
the node is verifiably not running it — its own report says stopped and has not
changed since, or its last incarnation was fenced or shut down cleanly. A node is
added only while the claim has room (1 for a primitive, `clone.max` for a clone,
`promotedMax` for promotion). So at most `max` nodes can ever hold a claim, and a
node outside it can never begin to run the resource. docs/runtime.md walks through
the failover this makes safe. Pure: the leader supplies what it read.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from reconciler import keys
from reconciler.agent.observe import RuntimeRecords
from reconciler.model.declared import DeclaredState
from reconciler.store.base import Compare, KeyValue


@dataclass(frozen=True, slots=True)
class Claim:
    active: tuple[str, ...] = ()
    promoted: tuple[str, ...] = ()

    def to_json(self) -> bytes:
        return json.dumps({"active": list(self.active), "promoted": list(self.promoted)}).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> Claim:
        body = json.loads(raw)
        return cls(tuple(body.get("active", ())), tuple(body.get("promoted", ())))


@dataclass(frozen=True)
class ClaimChange:
    resource: str
    new: Claim
    compares: tuple[Compare, ...]
    """What must still hold when the change is written: the claim as read, and the
    evidence that every node taken out of it runs nothing."""


@dataclass(frozen=True)
class Limits:
    active: int
    promoted: int


def limits(declared: DeclaredState, resource: str) -> Limits:
    model = declared.resources.get(resource)
    clone = model.spec.clone if model else None
    if clone is None:
        return Limits(active=1, promoted=0)
    active = clone.max if clone.max is not None else max(1, len(declared.nodes))
    return Limits(active=active, promoted=clone.promoted_max if clone.promotable else 0)


def _release_evidence(
    cluster: str,
    records: RuntimeRecords,
    observed: Mapping[str, KeyValue],
    *,
    resource: str,
    node: str,
    promoted_only: bool,
) -> tuple[Compare, ...] | None:
    """Compares proving `node` no longer runs (or promotes) `resource`; None if unproven."""
    if records.known_down(node):
        last = records.incarnations.get(node)
        if last is None:
            return (Compare.absent(keys.member(cluster, node)),)
        if records.fenced_now(node):
            evidence_key = keys.fenced(cluster, node)
            guards: tuple[Compare, ...] = ()
        else:
            evidence_key = keys.clean_shutdown(cluster, node)
            guards = (Compare.absent(keys.member(cluster, node)),)
        kv = observed.get(evidence_key)
        if kv is None:
            return None
        return (*guards, Compare.unchanged(evidence_key, kv.mod_revision))
    if not records.online(node):
        return None  # lost and not yet fenced: it may still run the resource
    key = keys.observed(cluster, node, resource)
    seen = records.observed.get(node, {}).get(resource)
    kv = observed.get(key)
    if seen is None or kv is None:
        return (Compare.absent(key),)
    busy = seen.possibly_promoted if promoted_only else seen.possibly_active
    if busy or seen.pending is not None:
        return None
    return (Compare.unchanged(key, kv.mod_revision),)


def _moved(
    holders: Sequence[str],
    wanted: Sequence[str],
    room: int,
    release: Callable[[str], tuple[Compare, ...] | None],
    compares: list[Compare],
) -> list[str]:
    """Holders that are wanted or cannot be proven idle stay (the proof joins `compares`
    for those that go); wanted nodes join while there is room."""
    kept = []
    for node in holders:
        evidence = None if node in wanted else release(node)
        if evidence is None:
            kept.append(node)
        else:
            compares.extend(evidence)
    kept += [n for n in wanted if n not in kept][: max(0, room - len(kept))]
    return kept


def plan_claims(
    *,
    cluster: str,
    declared: DeclaredState,
    records: RuntimeRecords,
    claims: Mapping[str, tuple[Claim, int]],
    evidence: Mapping[str, KeyValue],
    targets: Mapping[str, Sequence[str]],
    promote_targets: Mapping[str, Sequence[str]],
) -> list[ClaimChange]:
    """The claim changes that move claims toward the targets as far as is safe now.

    `claims` maps resource → (claim, its mod revision; 0 = none yet); `evidence` holds
    the key-values of observed, fenced and clean-shutdown records by key."""
    changes: list[ClaimChange] = []
    for resource in sorted(set(claims) | set(targets)):
        current, revision = claims.get(resource, (Claim(), 0))
        room = limits(declared, resource) if resource in declared.resources else Limits(0, 0)
        compares: list[Compare] = [Compare.unchanged(keys.claim(cluster, resource), revision)]

        def proof(
            node: str, *, promoted_only: bool, name: str = resource
        ) -> tuple[Compare, ...] | None:
            return _release_evidence(
                cluster, records, evidence, resource=name, node=node, promoted_only=promoted_only
            )

        active = _moved(
            current.active,
            list(targets.get(resource, ())),
            room.active,
            lambda node: proof(node, promoted_only=False),
            compares,
        )
        promoted = _moved(
            current.promoted,
            [n for n in promote_targets.get(resource, ()) if n in active],
            room.promoted,
            lambda node: proof(node, promoted_only=True),
            compares,
        )
        new = Claim(tuple(active), tuple(promoted))
        if new != current:
            changes.append(ClaimChange(resource, new, tuple(dict.fromkeys(compares))))
    return changes
