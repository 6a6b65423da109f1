"""The leader's writes for operator intents: remove finished ones, report why.

What is finished is decided by the pure `intent_work`; this only deletes, each key
only if unchanged since read (a repeated intent is a new one and must survive).
"""

from __future__ import annotations

import structlog

from reconciler import keys
from reconciler.agent.election import Election
from reconciler.agent.intent_work import IntentWork
from reconciler.agent.observe import RuntimeRecords
from reconciler.events import EventLog
from reconciler.store.base import Compare, Delete, KeyValue, Store

log = structlog.get_logger(__name__)


async def settle_intents(
    store: Store,
    *,
    cluster: str,
    election: Election,
    events: EventLog,
    work: IntentWork,
    records: RuntimeRecords,
    values: dict[str, KeyValue],
) -> None:
    """Remove finished intents and, for nodes without an agent, failcounts a cleanup
    forgets."""
    doomed = [(keys.intent(cluster, name), name) for name in sorted(work.finished)] + [
        (key, None) for key in work.stale_keys
    ]
    for key, name in doomed:
        kv = values.get(key)
        if kv is None:
            continue
        result = await store.txn(
            [election.guard(), Compare.unchanged(key, kv.mod_revision)], [Delete(key)]
        )
        if result.succeeded and name is not None:
            intent = records.intents[name]
            why = work.finished[name]
            log.info("leader.intent_finished", intent=intent.describe(), by=intent.by, why=why)
            await events.emit(
                "intent.expired" if why == "expired" else "intent.finished",
                f"{intent.describe()} (by {intent.by}): {why}",
                node=intent.node,
                resource=intent.resource,
            )
