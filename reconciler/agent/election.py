"""Leader election through one leased key; its create revision is the fencing token.

The leader key is attached to the leader's membership lease, so a leader that dies or
is cut off loses leadership when it loses membership — never later. Every write the
leader makes is a transaction conditional on the leader key still having the
create revision it had when this agent won (`guard()`); a deposed leader's writes
fail, and agents ignore decisions that carry any other token.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass

import structlog

from reconciler import keys
from reconciler.agent.membership import Membership
from reconciler.errors import HactlError
from reconciler.store.base import Compare, Delete, EventType, Put, Store

log = structlog.get_logger(__name__)

RETRY_S = 0.1


@dataclass(frozen=True, slots=True)
class LeaderInfo:
    node: str
    incarnation: str
    token: int
    """The leader key's create revision: unique and increasing across elections."""


async def current_leader(store: Store, cluster: str) -> LeaderInfo | None:
    kv = await store.get(keys.leader(cluster))
    if kv is None:
        return None
    body = json.loads(kv.value)
    return LeaderInfo(str(body["node"]), str(body["incarnation"]), kv.create_revision)


class Election:
    """Campaigns for leadership for as long as the membership lasts."""

    def __init__(self, store: Store, *, cluster: str, membership: Membership) -> None:
        self._store = store
        self._cluster = cluster
        self._key = keys.leader(cluster)
        self._membership = membership
        self.token: int | None = None
        self.retired = False
        """Set when this agent must never lead again (it is about to be fenced)."""
        self.changed = asyncio.Event()
        """Set whenever this agent wins or loses leadership."""

    @property
    def is_leader(self) -> bool:
        return self.token is not None and not self._membership.lost.is_set() and not self.retired

    async def resign(self) -> None:
        """Give up leadership for good: a leader whose own node must be fenced cannot
        fence itself, so it hands over to a peer that will."""
        token, self.retired = self.token, True
        if token is not None:
            await self._store.txn([Compare(self._key, "create", "==", token)], [Delete(self._key)])
        self.token = None
        self.changed.set()
        log.warning("leader.resigned", node=self._membership.info.node, token=token)

    def guard(self) -> Compare:
        """The compare every leader write carries: still the leader that won."""
        if self.token is None:
            raise RuntimeError("not the leader")
        return Compare(self._key, "create", "==", self.token)

    async def try_once(self) -> bool:
        """Take the leader key if nobody holds it; True when this agent is the leader."""
        if self.retired:
            return False
        info = self._membership.info
        body = json.dumps({"node": info.node, "incarnation": info.incarnation}).encode()
        result = await self._store.txn(
            [Compare.absent(self._key)],
            [Put(self._key, body, lease=self._membership.lease)],
        )
        if result.succeeded:
            self.token = result.revision
            self.changed.set()
            log.info("leader.elected", node=info.node, token=self.token)
            return True
        holder = await current_leader(self._store, self._cluster)
        if holder is not None and holder.incarnation == info.incarnation:
            self.token = holder.token  # our own key from before (a retried write)
            return True
        return False

    async def run(self) -> None:
        """Campaign whenever the leader key is free, until membership is lost."""
        try:
            await self._campaign()
        finally:
            if self.token is not None:  # leadership ends with the campaign, whatever ended it
                self.token = None
                self.changed.set()

    async def _campaign(self) -> None:
        while not self._membership.lost.is_set() and not self.retired:
            try:
                revision = await self._store.revision()
                if not await self.try_once():
                    await self._wait_for_vacancy(revision + 1)
                    continue
                await self._wait_until_deposed(revision + 1)
            except HactlError as exc:  # the store hiccuped: look again
                log.warning("election.retry", node=self._membership.info.node, error=str(exc))
                await asyncio.sleep(RETRY_S)

    async def _wait_for_vacancy(self, start: int) -> None:
        if await self._store.get(self._key) is None:
            return
        async for event in self._store.watch(self._key, start_revision=start):
            if event.key == self._key and event.type is EventType.DELETE:
                return

    async def _wait_until_deposed(self, start: int) -> None:
        async for event in self._store.watch(self._key, start_revision=start):
            if event.key == self._key and event.type is EventType.DELETE:
                break
        log.warning("leader.deposed", node=self._membership.info.node, token=self.token)
        self.token = None
        self.changed.set()
