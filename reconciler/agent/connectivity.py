"""Connectivity checks (heartbeat's ping nodes + ipfail, Pacemaker's ocf:pacemaker:ping).

Each agent probes the Cluster's `spec.connectivity.targets` every `interval` and
publishes `reachable * multiplier` as a transient node attribute (default `pingd`)
in its `attributes/<node>` record; placement rules such as `pingd lt 1 → -INFINITY`
then move resources away from a node that lost its network, and back.

Damping is what keeps one lost probe from moving anything: a new value is published
only once it has held for `dampen` (a value that changes back within it is never
published). The first measurement of a run is published at once, so that a node that
just joined is judged by its real connectivity. `Damper` is pure and takes the time;
`ConnectivityMonitor` is the loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import structlog

from reconciler import keys
from reconciler.agent import probes
from reconciler.errors import HactlError
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Connectivity
from reconciler.store.base import Store

log = structlog.get_logger(__name__)

IDLE_S = 2.0
"""How often a node without connectivity checks looks whether some were declared."""
PROBE_TIMEOUT_CAP_S = 1.0


@dataclass
class Damper:
    """Publishes a value only once it has held for `dampen` seconds (pure; `now` is a
    monotonic time given by the caller)."""

    dampen: float
    published: int | None = None
    pending: int | None = None
    since: float = 0.0

    def observe(self, value: int, now: float) -> int | None:
        """The value to publish now, or None when nothing is to be written."""
        if self.published is None:
            self.published, self.pending = value, None
            return value
        if value == self.published:
            self.pending = None
            return None
        if value != self.pending:
            self.pending, self.since = value, now
        if now - self.since >= self.dampen:
            self.published, self.pending = value, None
            return value
        return None


async def probe_targets(spec: Connectivity, *, icmp: bool) -> tuple[int, list[str]]:
    """How many targets answered, and the targets that could not be probed at all."""
    within = min(spec.interval.seconds, PROBE_TIMEOUT_CAP_S) or PROBE_TIMEOUT_CAP_S

    async def one(target: str) -> bool | None:
        try:
            return await probes.probe(target, port=spec.port, within=within, icmp=icmp)
        except probes.CannotProbe:
            return None

    results = await asyncio.gather(*(one(t) for t in spec.targets))
    unprobed = [t for t, r in zip(spec.targets, results, strict=True) if r is None]
    return sum(1 for r in results if r), unprobed


class ConnectivityMonitor:
    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        declared: Callable[[], Awaitable[DeclaredState]],
        events: EventLog,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._declared = declared
        self._monotonic = monotonic
        self._events = events
        self._icmp = probes.icmp_permitted()
        self._warned: set[str] = set()

    async def run(self) -> None:
        """Probe and publish until cancelled; a store error only skips one round."""
        damper: Damper | None = None
        current: Connectivity | None = None
        while True:
            try:
                spec = (await self._declared()).cluster.spec.connectivity
            except HactlError as exc:
                log.warning("connectivity.declared_unreadable", error=str(exc))
                await asyncio.sleep(IDLE_S)
                continue
            if spec is None:
                damper, current = None, None
                await asyncio.sleep(IDLE_S)
                continue
            if spec != current or damper is None:
                damper, current = Damper(spec.dampen.seconds), spec
            started = self._monotonic()
            reachable, unprobed = await probe_targets(spec, icmp=self._icmp)
            self._warn_unprobed(unprobed)
            value = damper.observe(reachable * spec.multiplier, self._monotonic())
            if value is not None:
                await self._publish(spec, value, reachable)
            elapsed = self._monotonic() - started
            await asyncio.sleep(max(0.0, spec.interval.seconds - elapsed))

    def _warn_unprobed(self, unprobed: list[str]) -> None:
        for target in unprobed:
            if target not in self._warned:
                self._warned.add(target)
                log.error(
                    "connectivity.cannot_probe",
                    node=self._node,
                    target=target,
                    reason="ICMP not permitted here and no port declared; counted unreachable",
                )

    async def _publish(self, spec: Connectivity, value: int, reachable: int) -> None:
        body = json.dumps({spec.attribute: value}, sort_keys=True).encode()
        try:
            await self._store.put(keys.attributes(self._cluster, self._node), body)
        except HactlError as exc:
            log.warning("connectivity.publish_failed", node=self._node, error=str(exc))
            return
        message = (
            f"{self._node}: {spec.attribute}={value} "
            f"({reachable}/{len(spec.targets)} targets reachable)"
        )
        log.info("connectivity.changed", node=self._node, attribute=spec.attribute, value=value)
        await self._events.emit(
            "connectivity.changed",
            message,
            node=self._node,
            ok=reachable == len(spec.targets),
            attribute=spec.attribute,
            value=value,
        )
