"""The store-based poison pill of watchdog fencing (SBD's "poison pill" message slot).

When a leader fences a node by watchdog it writes `poison/<node>` naming the incarnation
it means to end. That node's agent watches the key: a pill for its own incarnation makes
it stop petting and fire its watchdog at once, so a node that is alive but unclean (a
stop that failed) dies now, not when its lease runs out. A pill for another incarnation
(an earlier run of the agent) is ignored. The pill is only a shortcut: the leader counts
the node fenced only after its lease has been gone for watchdogTimeout, pill or not.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict, dataclass

import structlog

from reconciler import keys
from reconciler.errors import HactlError
from reconciler.store.base import EventType, Store

log = structlog.get_logger(__name__)

RETRY_S = 0.5


@dataclass(frozen=True, slots=True)
class PoisonPill:
    incarnation: str
    at: float
    by: str
    reason: str

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), separators=(",", ":")).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> PoisonPill | None:
        try:
            body = json.loads(raw)
            return cls(
                str(body["incarnation"]), float(body["at"]), str(body["by"]), str(body["reason"])
            )
        except (ValueError, KeyError, TypeError):
            return None


async def watch_for_pill(store: Store, *, cluster: str, node: str, incarnation: str) -> str:
    """Returns (why) once a pill for this incarnation is in the store; absorbs store errors."""
    key = keys.poison_pill(cluster, node)

    def meant_for_me(raw: bytes) -> str | None:
        pill = PoisonPill.from_json(raw)
        if pill is None or pill.incarnation != incarnation:
            return None
        return f"poison pill from {pill.by}: {pill.reason}"

    while True:
        try:
            found, revision = await store.range(key)
            for kv in found:
                if kv.key == key and (why := meant_for_me(kv.value)):
                    return why
            async for event in store.watch(key, start_revision=revision + 1):
                why = meant_for_me(event.value) if event.type is EventType.PUT else None
                if event.key == key and why:
                    return why
        except HactlError as exc:  # store errors, Compacted included: read again
            log.warning("poison.watch_failed", node=node, error=str(exc))
            await asyncio.sleep(RETRY_S)
