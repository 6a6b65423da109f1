"""Declared state in the store: generations, content-addressed snapshots, history.

An apply writes the complete new declared state as an immutable snapshot, then
moves the generation pointer in one compare-and-set transaction that also records
the generation's history entry. Readers see the old generation or the new one,
never a mixture; a concurrent apply loses the compare and is told to retry.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reconciler import keys
from reconciler.changes import ChangeSet, compare, merged
from reconciler.errors import HactlError, UsageError
from reconciler.model.declared import DeclaredState, Source, from_manifest, to_manifest
from reconciler.store.base import Compare, Put, Store

CHUNK_BYTES = 256 * 1024
"""Snapshot chunk size: well under etcd's default 1.5 MiB request limit."""


class ConcurrentApply(HactlError):
    """Another apply moved the generation while this one was being prepared."""

    exit_code = 1


class StoreCorrupt(HactlError):
    """The store holds data hactl cannot read back: never guess, stop and say so."""

    exit_code = 3


@dataclass(frozen=True)
class Generation:
    """One applied generation: what the pointer and each history entry hold."""

    number: int
    snapshot: str
    chunks: int
    objects: int
    applied_at: str
    by: str
    reason: str
    source: dict[str, Any] = field(default_factory=dict)
    changes: dict[str, list[str]] = field(default_factory=dict)
    revision: int = 0
    """The store revision at which this record was written (filled when read)."""

    def to_json(self) -> bytes:
        body = {
            "generation": self.number,
            "snapshot": self.snapshot,
            "chunks": self.chunks,
            "objects": self.objects,
            "appliedAt": self.applied_at,
            "by": self.by,
            "reason": self.reason,
            "source": self.source,
            "changes": self.changes,
        }
        return json.dumps(body, sort_keys=True).encode()

    @classmethod
    def from_json(cls, raw: bytes, *, revision: int = 0) -> Generation:
        try:
            body = json.loads(raw)
            return cls(
                number=int(body["generation"]),
                snapshot=str(body["snapshot"]),
                chunks=int(body["chunks"]),
                objects=int(body["objects"]),
                applied_at=str(body["appliedAt"]),
                by=str(body["by"]),
                reason=str(body["reason"]),
                source=dict(body.get("source") or {}),
                changes=dict(body.get("changes") or {}),
                revision=revision,
            )
        except (ValueError, KeyError, TypeError) as exc:
            raise StoreCorrupt(f"unreadable generation record: {exc}") from exc


@dataclass(frozen=True)
class ApplyResult:
    changes: ChangeSet
    generation: Generation | None
    """The new generation, or None when nothing changed (or a dry run)."""
    previous: int


def encode_snapshot(state: DeclaredState) -> tuple[str, list[bytes]]:
    """Canonical JSON of the declared state, its digest, and its compressed chunks."""
    body = {
        "documents": [to_manifest(doc) for doc in state],
        "sources": {f"{k}/{n}": str(src) for (k, n), src in sorted(state.sources.items())},
    }
    # Field order comes from the models and free-form mappings are sorted by
    # to_manifest, so the same state always encodes to the same bytes and digest.
    raw = json.dumps(body, separators=(",", ":")).encode()
    digest = hashlib.sha256(raw).hexdigest()
    packed = zlib.compress(raw, 6)
    chunks = [packed[i : i + CHUNK_BYTES] for i in range(0, len(packed), CHUNK_BYTES)] or [b""]
    return digest, chunks


def decode_snapshot(digest: str, chunks: Sequence[bytes]) -> DeclaredState:
    try:
        raw = zlib.decompress(b"".join(chunks))
        if hashlib.sha256(raw).hexdigest() != digest:
            raise StoreCorrupt(f"snapshot {digest[:12]} does not match its digest")
        body = json.loads(raw)
        documents = [from_manifest(doc) for doc in body["documents"]]
        sources: dict[tuple[str, str], Source] = {}
        for ref, where in body.get("sources", {}).items():
            kind, _, name = ref.partition("/")
            file, _, line = where.rpartition(":")
            sources[(kind, name)] = Source(file, int(line) if line.isdigit() else 0)
    except (zlib.error, ValueError, KeyError, TypeError) as exc:
        raise StoreCorrupt(f"snapshot {digest[:12]} is unreadable: {exc}") from exc
    return DeclaredState.of(documents, sources)


async def read_generation(store: Store, cluster: str) -> Generation | None:
    kv = await store.get(keys.generation(cluster))
    return Generation.from_json(kv.value, revision=kv.mod_revision) if kv else None


async def read_snapshot(store: Store, cluster: str, generation: Generation) -> DeclaredState:
    found, _ = await store.range(keys.snapshot_prefix(cluster, generation.snapshot))
    if len(found) != generation.chunks:
        raise StoreCorrupt(
            f"generation {generation.number}: snapshot has {len(found)} of "
            f"{generation.chunks} chunks"
        )
    return decode_snapshot(generation.snapshot, [kv.value for kv in found])


async def read_declared(store: Store, cluster: str) -> DeclaredState:
    """The declared state of the current generation (empty before the first apply)."""
    generation = await read_generation(store, cluster)
    if generation is None:
        return DeclaredState.of([])
    return await read_snapshot(store, cluster, generation)


async def read_history(store: Store, cluster: str) -> list[Generation]:
    found, _ = await store.range(keys.history_prefix(cluster))
    return [Generation.from_json(kv.value, revision=kv.mod_revision) for kv in found]


async def write_generation(
    store: Store,
    cluster: str,
    *,
    state: DeclaredState,
    changes: ChangeSet,
    reason: str,
    by: str,
    source: dict[str, Any],
    expected: Generation | None,
    now: datetime | None = None,
) -> Generation:
    """Store `state` as the next generation, if the current one is still `expected`."""
    digest, chunks = encode_snapshot(state)
    for index, chunk in enumerate(chunks):
        # Immutable and content-addressed: rewriting an existing chunk is harmless.
        await store.put(keys.snapshot_chunk(cluster, digest, index), chunk)
    number = (expected.number if expected else 0) + 1
    generation = Generation(
        number=number,
        snapshot=digest,
        chunks=len(chunks),
        objects=len(state),
        applied_at=(now or datetime.now(UTC)).isoformat(timespec="seconds"),
        by=by,
        reason=reason,
        source=source,
        changes={k: v for k, v in changes.as_dict().items() if k != "unchanged"},
    )
    record = generation.to_json()
    result = await store.txn(
        [Compare.unchanged(keys.generation(cluster), expected.revision if expected else 0)],
        [Put(keys.generation(cluster), record), Put(keys.history(cluster, number), record)],
    )
    if not result.succeeded:
        raise ConcurrentApply(
            "another apply changed the cluster meanwhile; nothing was written, run it again"
        )
    return Generation.from_json(record, revision=result.revision)


async def apply_declared(
    store: Store,
    cluster: str,
    desired: DeclaredState,
    *,
    prune: bool,
    dry_run: bool,
    by: str,
    source: dict[str, Any],
    reason: str = "apply",
) -> ApplyResult:
    """Make `desired` the declared state (merged onto the current one unless pruning)."""
    expected = await read_generation(store, cluster)
    current = await read_snapshot(store, cluster, expected) if expected else DeclaredState.of([])
    changes = compare(current, desired, prune=prune)
    previous = expected.number if expected else 0
    if dry_run or changes.empty:
        return ApplyResult(changes, None, previous)
    generation = await write_generation(
        store,
        cluster,
        state=merged(current, desired, prune=prune),
        changes=changes,
        reason=reason,
        by=by,
        source=source,
        expected=expected,
    )
    return ApplyResult(changes, generation, previous)


async def generation_state(store: Store, cluster: str, number: int) -> DeclaredState:
    """The declared state as it was at generation `number`."""
    kv = await store.get(keys.history(cluster, number))
    if kv is None:
        raise UsageError(f"generation {number} does not exist (see hactl history)")
    return await read_snapshot(store, cluster, Generation.from_json(kv.value))
