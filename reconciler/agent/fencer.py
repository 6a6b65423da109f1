"""The leader's fencer: runs the FenceDevices that can fence a node (see fencing/)."""

from __future__ import annotations

import time

import structlog

from reconciler.agent.records import FenceRecord
from reconciler.model.declared import DeclaredState

log = structlog.get_logger(__name__)


class DeviceFencer:
    """Fences through the declared FenceDevices, topology level by level."""

    def __init__(self, *, cluster: str, by: str) -> None:
        self._cluster = cluster
        self._by = by

    async def fence(
        self, node: str, *, incarnation: str, declared: DeclaredState, reason: str
    ) -> FenceRecord | None:
        from reconciler.fencing import fence_node

        devices = list(declared.fence_devices.values())
        outcome = await fence_node(node, devices, cluster=self._cluster)
        if not outcome.succeeded:
            return None
        return FenceRecord(incarnation, time.time(), outcome.device or "", outcome.action, self._by)
