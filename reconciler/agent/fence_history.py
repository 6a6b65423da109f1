"""Fence history: every fencing attempt's outcome, kept in the store, bounded.

`fenced/<node>` holds only the last successful fencing: the evidence recovery waits for.
The history keeps every attempt, failures included: each run of a device's driver, each
watchdog fencing, each node assumed down or confirmed down. It is one ring of the event
stream (reconciler/events.py), written by leaders and `hactl fence` alike under the writer
`_fencing` (no node can have that name), so it keeps the last `events.RING` (512) entries
of the cluster, orders them by store revision and shows up in `hactl events` too.

Nothing here holds an option value: `reason` is hactl's own message (which names params,
never values) or the driver's last line of output, with every secret and every param value
of the device masked.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from reconciler import keys
from reconciler.events import RING, Event, EventLog
from reconciler.fencing import Attempt, FenceOutcome, redact
from reconciler.intents import iso
from reconciler.model.kinds import FenceDevice
from reconciler.store.base import Store

WRITER = "_fencing"
KEPT = RING
"""Entries kept per cluster."""
KIND = "fence.attempt"

Outcome = Literal["success", "failed", "timed out"]


@dataclass(frozen=True, slots=True)
class FenceEntry:
    """One fencing attempt: which device (and topology level) did what to which
    incarnation of a node, for whom, and how it went."""

    node: str
    device: str
    level: int | None
    action: str
    outcome: Outcome
    reason: str
    by: str
    incarnation: str
    at: float = 0.0
    """When it was recorded (filled when read)."""

    def message(self) -> str:
        level = "" if self.level is None else f" (level {self.level})"
        return f"{self.node}: {self.device}{level} {self.action}: {self.outcome} — {self.reason}"

    def as_row(self) -> dict[str, Any]:
        return {
            "time": iso(self.at),
            "node": self.node,
            "device": self.device,
            "level": self.level,
            "action": self.action,
            "outcome": self.outcome,
            "reason": self.reason,
            "by": self.by,
            "incarnation": self.incarnation,
        }


def _option_values(device: FenceDevice | None) -> list[str]:
    """Every param value of the device as the driver got it (booleans are not values
    worth hiding, and masking them would garble the text)."""
    if device is None:
        return []
    return [
        str(value)
        for value in device.spec.params.values()
        if not isinstance(value, bool) and len(str(value)) >= 2
    ]


def _reason(attempt: Attempt, device: FenceDevice | None) -> str:
    if attempt.error:
        return attempt.error  # hactl's own words: they name params, never values
    said = [line for line in (attempt.stderr or attempt.stdout).splitlines() if line.strip()]
    last = redact(said[-1].strip(), _option_values(device))[:200] if said else ""
    code = f"exit code {attempt.exit_code}"
    return f"{code}: {last}" if last else code


def entries_from_outcome(
    outcome: FenceOutcome,
    devices: Mapping[str, FenceDevice],
    *,
    by: str,
    incarnation: str,
) -> list[FenceEntry]:
    """One entry per driver run; one for the whole fencing when no driver could run."""
    entries = []
    for attempt in outcome.attempts:
        result: Outcome = (
            "success" if attempt.succeeded else "timed out" if attempt.timed_out else "failed"
        )
        entries.append(
            FenceEntry(
                node=outcome.node,
                device=attempt.device,
                level=attempt.level,
                action=attempt.action,
                outcome=result,
                reason=_reason(attempt, devices.get(attempt.device)),
                by=by,
                incarnation=incarnation,
            )
        )
    if not entries:
        entries.append(
            FenceEntry(
                node=outcome.node,
                device="-",
                level=None,
                action=outcome.action,
                outcome="success" if outcome.succeeded else "failed",
                reason=outcome.reason,
                by=by,
                incarnation=incarnation,
            )
        )
    return entries


def history_log(store: Store, cluster: str, *, wall: Callable[[], float] = time.time) -> EventLog:
    return EventLog(store, cluster=cluster, writer=WRITER, wall=wall)


async def record(log: EventLog, entries: Iterable[FenceEntry]) -> None:
    """Add entries to the history; like every event write, it never raises."""
    for entry in entries:
        details = entry.as_row()
        for name in ("time", "node"):
            details.pop(name)
        await log.emit(
            KIND, entry.message(), node=entry.node, ok=entry.outcome == "success", **details
        )


def _entry(event: Event) -> FenceEntry | None:
    d = event.details
    if event.kind != KIND or event.node is None:
        return None
    outcome = d.get("outcome")
    if outcome not in ("success", "failed", "timed out"):
        return None
    level = d.get("level")
    return FenceEntry(
        node=event.node,
        device=str(d.get("device", "")),
        level=int(level) if isinstance(level, int) else None,
        action=str(d.get("action", "")),
        outcome=outcome,
        reason=str(d.get("reason", "")),
        by=str(d.get("by", "")),
        incarnation=str(d.get("incarnation", "")),
        at=event.at,
    )


async def read_history(store: Store, cluster: str, node: str | None = None) -> list[FenceEntry]:
    """The kept entries, oldest first (the store's order), for one node or all."""
    prefix = keys.event_ring(cluster, WRITER)
    found, _ = await store.range(prefix)
    events = []
    for kv in found:
        if not kv.key[len(prefix) :].isdigit():
            continue
        try:
            events.append(Event.from_json(kv.value, revision=kv.mod_revision))
        except (ValueError, KeyError, TypeError):
            continue
    events.sort(key=lambda e: (e.revision, e.seq))
    entries = [e for e in (_entry(event) for event in events) if e is not None]
    return [e for e in entries if node is None or e.node == node]
