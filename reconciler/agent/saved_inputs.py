"""The leader's saved scheduler inputs: each changed one, the last KEEP_INPUTS of them,
so `hactl simulate --saved` can replay what a leader decided on."""

from __future__ import annotations

import hashlib
import json

from reconciler import keys
from reconciler.agent.election import Election
from reconciler.snapshot import ClusterSnapshot
from reconciler.store.base import Delete, Put, Store

KEEP_INPUTS = 20


class SavedInputs:
    def __init__(self, store: Store, *, cluster: str, election: Election) -> None:
        self._store = store
        self._cluster = cluster
        self._election = election
        self._last_digest = ""
        self._sequence = 0

    async def save(self, snapshot: ClusterSnapshot) -> None:
        body = snapshot.to_dict()
        body.pop("observedAt", None)
        digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()
        if digest == self._last_digest:
            return
        if not self._sequence:
            found, _ = await self._store.range(keys.inputs_prefix(self._cluster))
            self._sequence = int(found[-1].key.rsplit("/", 1)[1]) if found else 0
        self._sequence += 1
        writes: list[Put | Delete] = [
            Put(keys.inputs(self._cluster, self._sequence), snapshot.to_json().encode())
        ]
        expired = self._sequence - KEEP_INPUTS
        if expired > 0:
            writes.append(Delete(keys.inputs(self._cluster, expired)))
        await self._store.txn([self._election.guard()], writes)
        self._last_digest = digest
