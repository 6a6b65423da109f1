"""Membership: one leased key per live node agent, kept alive every keepalive.

A node is a member of the cluster exactly while its key exists. The key is attached
to a lease with TTL = deadtime, so when an agent dies or is cut off, the store
deletes the key by itself and every peer sees the node go. An agent refuses to
start while another live agent holds its node's key: two agents for one node would
both run its resources.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from reconciler import keys
from reconciler.agent.budget import LeaseBudget, granted_ttl
from reconciler.agent.records import Incarnation
from reconciler.errors import HactlError
from reconciler.store.base import Compare, LeaseLost, Put, Store, StoreError, StoreUnavailable

log = structlog.get_logger(__name__)


class AlreadyMember(HactlError):
    """Another live agent holds this node's membership key."""

    exit_code = 2


class LeaseTooShort(HactlError):
    """The store granted a shorter lease than deadtime: fail fast could come too late."""

    exit_code = 2


@dataclass(frozen=True)
class MemberInfo:
    node: str
    incarnation: str
    pid: int
    host: str

    def to_json(self) -> bytes:
        return json.dumps(
            {"node": self.node, "incarnation": self.incarnation, "pid": self.pid, "host": self.host}
        ).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> MemberInfo:
        body = json.loads(raw)
        return cls(str(body["node"]), str(body["incarnation"]), int(body["pid"]), str(body["host"]))

    @classmethod
    def for_this_process(cls, node: str) -> MemberInfo:
        return cls(node, uuid.uuid4().hex, os.getpid(), socket.gethostname())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Membership:
    """Holds this node's membership lease; `lost` is set the moment it cannot be trusted."""

    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        info: MemberInfo,
        budget: LeaseBudget,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        on_refreshed: Callable[[float], None] | None = None,
        watchdog: float = 0.0,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._wall = wall
        self._key = keys.member(cluster, info.node)
        self.info = info
        self.budget = budget
        self._clock = clock
        self.lease = 0
        self.last_ok_sent = 0.0
        self.lost = asyncio.Event()
        self._on_refreshed = on_refreshed
        self._watchdog = watchdog
        """The node watchdog's timeout (0: none), recorded with the incarnation."""
        """Called with the moment a lease refresh that succeeded was sent (the watchdog's
        pet), only while the agent is within its fail-fast budget."""
        self.may_hold_lease = False
        """False only while this agent certainly never held the node's membership."""

    def _confirmed(self, sent: float) -> None:
        self.last_ok_sent = sent
        within_budget = self._clock() < self.budget.give_up_at(sent)
        if self._on_refreshed is not None and not self.lost.is_set() and within_budget:
            self._on_refreshed(sent)

    async def _check_granted(self, lease: int) -> None:
        """Refuse a lease shorter than deadtime; warn about a longer one (etcd: whole
        seconds, and its minimum TTL)."""
        granted = await self._store.refresh_lease(lease)
        match granted_ttl(self.budget.ttl, granted):
            case "shorter":
                await self._store.revoke_lease(lease)
                raise LeaseTooShort(
                    f"the store granted a {granted:g}s lease for deadtime {self.budget.ttl:g}s: "
                    "a shorter lease than deadtime would expire before this agent gives up"
                )
            case "longer":
                log.warning(
                    "membership.lease_longer_than_deadtime",
                    node=self.info.node,
                    deadtime=self.budget.ttl,
                    granted=granted,
                    effect="a lost node is noticed only after the granted TTL",
                )

    async def adopt(self) -> bool:
        """Take over the membership of this node's previous agent if it died on this very
        host less than a deadtime ago: a quick restart (upgrade, crash) keeps the node's
        incarnation and resources instead of getting the node fenced. True if adopted."""
        held = await self._store.get(self._key)
        if held is None:
            return False
        previous = MemberInfo.from_json(held.value)
        if previous.host != self.info.host or _alive(previous.pid):
            return False
        sent = self._clock()
        try:
            granted = await self._store.refresh_lease(held.lease)
        except LeaseLost:
            return False
        if granted_ttl(self.budget.ttl, granted) == "shorter":
            return False  # its deadtime was another: join afresh, or be refused there
        self.info = MemberInfo(previous.node, previous.incarnation, self.info.pid, self.info.host)
        # The incarnation now has this agent's watchdog (or none): say so, for the leader.
        record_key = keys.incarnation(self._cluster, self.info.node)
        record = await self._store.get(record_key)
        joined_at = Incarnation.from_json(record.value).joined_at if record else self._wall()
        incarnation = Incarnation(previous.incarnation, joined_at, self._watchdog)
        result = await self._store.txn(
            [Compare.value_is(self._key, held.value)],
            [
                Put(self._key, self.info.to_json(), lease=held.lease),
                Put(record_key, incarnation.to_json()),
            ],
        )
        if not result.succeeded:
            return False
        self.lease = held.lease
        self.may_hold_lease = True
        self._confirmed(sent)
        log.warning(
            "membership.adopted",
            node=self.info.node,
            previous_pid=previous.pid,
            incarnation=self.info.incarnation,
        )
        return True

    async def join(self) -> None:
        """Take the membership key, or raise AlreadyMember."""
        sent = self._clock()
        lease = await self._store.grant_lease(self.budget.ttl)
        await self._check_granted(lease)
        # Armed before the key exists: once peers can see this node, its watchdog guards it.
        self.may_hold_lease = True
        self._confirmed(sent)
        incarnation = Incarnation(self.info.incarnation, self._wall(), self._watchdog)
        result = await self._store.txn(
            [Compare.absent(self._key)],
            [
                Put(self._key, self.info.to_json(), lease=lease),
                Put(keys.incarnation(self._cluster, self.info.node), incarnation.to_json()),
            ],
        )
        if not result.succeeded:
            self.may_hold_lease = False
            await self._store.revoke_lease(lease)
            holder = await self._store.get(self._key)
            who = MemberInfo.from_json(holder.value) if holder else None
            where = f" (pid {who.pid} on {who.host})" if who else ""
            raise AlreadyMember(
                f"node {self.info.node} already has a live agent{where}; "
                "two agents for one node would run its resources twice"
            )
        self.lease = lease
        log.info("membership.joined", node=self.info.node, lease=lease, ttl=self.budget.ttl)

    def seconds_left(self) -> float:
        """Until the agent must stop acting (negative: already past)."""
        return self.budget.give_up_at(self.last_ok_sent) - self._clock()

    async def keep(self) -> None:
        """Refresh every keepalive until the lease is lost; then set `lost` and return."""
        try:
            while not self.lost.is_set():
                await asyncio.sleep(self.budget.keepalive)
                await self._refresh_once()
        finally:
            self.lost.set()

    async def _refresh_once(self) -> None:
        sent = self._clock()
        remaining = self.budget.give_up_at(self.last_ok_sent) - sent
        if remaining <= 0:
            log.error("membership.lost", node=self.info.node, reason="no refresh in time")
            self.lost.set()
            return
        # One attempt may hang (an etcd member that just lost its leader drops the
        # request silently): give it up after a couple of keepalives and try again,
        # rather than spend the whole budget on it.
        attempt = min(remaining, max(2 * self.budget.keepalive, 0.1))
        try:
            await asyncio.wait_for(self._store.refresh_lease(self.lease), timeout=attempt)
        except LeaseLost:
            log.error("membership.lost", node=self.info.node, reason="lease expired")
            self.lost.set()
            return
        except (TimeoutError, StoreUnavailable, StoreError) as exc:
            log.warning("membership.refresh_failed", node=self.info.node, error=str(exc))
            if self.budget.give_up_at(self.last_ok_sent) <= self._clock():
                log.error("membership.lost", node=self.info.node, reason="store unreachable")
                self.lost.set()
            return
        if self.budget.is_late(self.last_ok_sent, sent):
            log.warning(
                "membership.late_refresh",
                node=self.info.node,
                late_by=round(sent - self.last_ok_sent, 3),
                warntime=self.budget.warntime,
            )
        self._confirmed(sent)

    async def leave(self) -> None:
        """Revoke the lease: peers see the node go at once instead of after deadtime."""
        self.lost.set()
        if self.lease:
            try:
                await self._store.revoke_lease(self.lease)
            except (StoreError, StoreUnavailable) as exc:
                log.warning("membership.revoke_failed", node=self.info.node, error=str(exc))
        log.info("membership.left", node=self.info.node)
