"""The lease budget: when a refresh is late, and when an agent must give up.

Pure arithmetic over times the caller measures (time.monotonic() in the agent, a
fake clock in tests). The store starts a lease's TTL no earlier than the moment a
refresh request was sent, so `sent + ttl` is the earliest the store could expire
the lease. The agent must have stopped acting — and stopped its resources — before
that instant, or a peer may start them while they still run here. `margin` covers
what the agent cannot see: its own scheduling delays and the time a stop needs to
begin. docs/safety.md explains the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TTL_TOLERANCE = 0.001


@dataclass(frozen=True, slots=True)
class LeaseBudget:
    ttl: float
    """Seconds the store keeps a lease after a refresh: the cluster's deadtime."""
    keepalive: float
    """Seconds between refreshes."""
    warntime: float
    """A refresh this late after the last good one logs a warning (heartbeat's warntime)."""

    @property
    def margin(self) -> float:
        """Time kept in hand before the lease could expire: a quarter of the TTL or one
        keepalive, whichever is longer — but never so much that the agent gives up
        before it could even try the next refresh (keepalive close to deadtime)."""
        return min(max(self.keepalive, self.ttl / 4), (self.ttl - self.keepalive) / 2)

    def expires_no_earlier_than(self, last_ok_sent: float) -> float:
        return last_ok_sent + self.ttl

    def give_up_at(self, last_ok_sent: float) -> float:
        """When, without a successful refresh since `last_ok_sent`, the agent stops acting."""
        return last_ok_sent + self.ttl - self.margin

    def is_late(self, last_ok_sent: float, now: float) -> bool:
        return now - last_ok_sent > self.warntime


def granted_ttl(requested: float, granted: float) -> Literal["as asked", "longer", "shorter"]:
    """How the TTL a store granted compares with the one asked for. etcd grants whole
    seconds and at least its minimum (about 1.5 x its election timeout), so it may
    grant more: safe for fail fast (the budget assumes the requested TTL, the lease
    lasts longer), but failover then waits for the longer lease. A shorter lease would
    expire before the agent gives up: the budget's arithmetic no longer holds."""
    if granted < requested - TTL_TOLERANCE:
        return "shorter"
    if granted > requested + TTL_TOLERANCE:
        return "longer"
    return "as asked"
