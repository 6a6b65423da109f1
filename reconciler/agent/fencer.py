"""The leader's fencer: runs the FenceDevices that can fence a node (see fencing/)."""

from __future__ import annotations

import time
from dataclasses import dataclass

import structlog

from reconciler.agent.fence_history import FenceEntry, entries_from_outcome
from reconciler.agent.records import FenceRecord
from reconciler.model.declared import DeclaredState

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FenceResult:
    record: FenceRecord | None
    """What to store as `fenced/<node>`; None when the fencing failed."""
    history: tuple[FenceEntry, ...] = ()
    """Every attempt, for the fence history."""


class DeviceFencer:
    """Fences through the declared FenceDevices, topology level by level."""

    def __init__(self, *, cluster: str, by: str) -> None:
        self._cluster = cluster
        self._by = by

    async def fence(
        self, node: str, *, incarnation: str, declared: DeclaredState, reason: str
    ) -> FenceResult:
        from reconciler.fencing import fence_node

        devices = declared.fence_devices
        outcome = await fence_node(node, list(devices.values()), cluster=self._cluster)
        history = tuple(
            entries_from_outcome(outcome, devices, by=self._by, incarnation=incarnation)
        )
        if not outcome.succeeded:
            return FenceResult(None, history)
        record = FenceRecord(
            incarnation, time.time(), outcome.device or "", outcome.action, self._by
        )
        return FenceResult(record, history)
