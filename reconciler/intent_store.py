"""Operator intents in the store: record, read, remove (see reconciler/intents.py).

Intents live under `/hactl/<cluster>/intents/`, beside the declared generations and
never inside them, so an apply (with or without --prune) cannot wipe or duplicate one.
"""

from __future__ import annotations

from reconciler import keys
from reconciler.errors import HactlError
from reconciler.events import EventLog
from reconciler.intents import BadIntent, Intent, iso
from reconciler.store.base import Compare, Delete, Put, Store


class ConcurrentChange(HactlError):
    """Two commands recorded the same intent at the same moment."""

    exit_code = 1


async def read_intents(store: Store, cluster: str) -> dict[str, Intent]:
    """Every readable intent by name, with its create revision; unreadable ones skipped."""
    prefix = keys.intents_prefix(cluster)
    found, _ = await store.range(prefix)
    intents: dict[str, Intent] = {}
    for kv in found:
        try:
            intent = Intent.from_json(kv.value, revision=kv.create_revision)
        except BadIntent:
            continue
        if intent.name == kv.key[len(prefix) :]:
            intents[intent.name] = intent
    return intents


async def record_intent(store: Store, cluster: str, intent: Intent) -> Intent:
    """Store `intent`, replacing one of the same kind and target; returns it with its
    create revision (a replaced record is deleted first, so the revision is new)."""
    key = keys.intent(cluster, intent.name)
    await store.txn([], [Delete(key)])
    result = await store.txn([Compare.absent(key)], [Put(key, intent.to_json())])
    if not result.succeeded:
        raise ConcurrentChange(f"another command recorded {intent.describe()} meanwhile; run again")
    until = f" until {iso(intent.until)}" if intent.until is not None else ""
    await EventLog(store, cluster=cluster, writer="operator").emit(
        "intent.recorded",
        f"{intent.describe()}{until} (by {intent.by})",
        node=intent.node,
        resource=intent.resource,
    )
    return Intent.from_json(intent.to_json(), revision=result.revision)


async def remove_intents(
    store: Store,
    cluster: str,
    names: list[str],
    *,
    by: str = "",
    known: dict[str, Intent] | None = None,
) -> None:
    """Delete intents by name; `known` (the intents as read) names them in the events."""
    if not names:
        return
    await store.txn([], [Delete(keys.intent(cluster, name)) for name in names])
    events = EventLog(store, cluster=cluster, writer="operator")
    for name in names:
        intent = (known or {}).get(name)
        what = intent.describe() if intent is not None else name
        who = f" (by {by})" if by else ""
        await events.emit(
            "intent.removed",
            f"{what}: removed{who}",
            node=intent.node if intent else None,
            resource=intent.resource if intent else None,
        )
