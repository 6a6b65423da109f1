"""Watchdog fencing's timing rule (pure; docs/fencing.md, "Watchdog fencing").

`stonith.watchdogTimeout` (W) is the cluster's side, Pacemaker's stonith-watchdog-timeout;
the node's watchdog fires after W/2 without a pet (Pacemaker's advice: the cluster waits
twice the device's timeout). A pet carries the moment the agent *sent* the lease refresh
that succeeded, so the node's watchdog fires no later than

    last_sent + W/2

while its lease cannot expire before `last_sent + deadtime`, and the leader counts the
node fenced only W after it saw the lease gone. The node is therefore down at least
`deadtime + W/2` before the cluster assumes it is: that slack must cover the watchdog's
own reaction (waking up, killing, reaping), whatever W and deadtime are.

What W must also respect is availability: the watchdog must not fire while the agent's
own fail fast may still save the lease or stop its resources in order, i.e. W/2 must
outlast the lease (deadtime). Hence the lint: W >= 2 x deadtime.
"""

from __future__ import annotations


def node_timeout(watchdog_timeout: float) -> float:
    """How long the node's watchdog waits for a pet: half the cluster's timeout."""
    return watchdog_timeout / 2


def fires_at(last_pet_sent: float, watchdog_timeout: float) -> float:
    """The latest moment the node's watchdog fires, on the node's monotonic clock."""
    return last_pet_sent + node_timeout(watchdog_timeout)


def fenced_after(lease_gone_since: float, watchdog_timeout: float) -> float:
    """When the leader may count the node fenced, on the leader's monotonic clock."""
    return lease_gone_since + watchdog_timeout


def watchdog_wait(watchdog_timeout: float, node_watchdog: float) -> float | None:
    """How long the leader counts, after it saw a node's lease gone, before the node's
    watchdog has surely fired; None when the node's agent runs no watchdog (its
    incarnation names none): then waiting would prove nothing. `node_watchdog` is the
    node's own timeout as its incarnation recorded it, so the count is at least twice
    that, whatever watchdogTimeout says now (it may have been lowered since)."""
    if node_watchdog <= 0:
        return None
    return max(watchdog_timeout, 2 * node_watchdog)


def slack(deadtime: float, watchdog_timeout: float) -> float:
    """How long before the cluster assumes the node dead its watchdog has fired, at least."""
    return deadtime + node_timeout(watchdog_timeout)


def recommended_minimum(deadtime: float) -> float:
    """The smallest watchdogTimeout `hactl validate` accepts without a warning."""
    return 2 * deadtime
