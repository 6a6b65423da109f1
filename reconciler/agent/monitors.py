"""Recurring monitors: one task per active resource, at its declared interval, until
the monitor finds the resource not as expected (then the failure is counted, reported
and announced, and the leader decides the recovery) or the task is cancelled."""

from __future__ import annotations

import asyncio

import structlog

from reconciler.agent import actions
from reconciler.agent.action_runner import ActionRunner
from reconciler.agent.node_declared import NodeDeclared

log = structlog.get_logger(__name__)


class RecurringMonitors:
    def __init__(self, *, node: str, runner: ActionRunner, declared: NodeDeclared) -> None:
        self._node = node
        self._runner = runner
        self._declared = declared
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def start(self, name: str) -> None:
        self.stop(name)
        self._tasks[name] = asyncio.create_task(self._monitor(name))

    def stop(self, name: str) -> None:
        task = self._tasks.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    def tasks(self) -> list[asyncio.Task[None]]:
        return list(self._tasks.values())

    async def _monitor(self, name: str) -> None:
        local = self._runner.local
        while True:
            resource = self._declared.resource(name)
            state = local.of(name)
            ops = actions.monitor_ops(resource, state.role) if resource else []
            if not ops:
                return
            interval, timeout = min(ops)
            await asyncio.sleep(interval)
            if resource is None:
                return
            outcome = await self._runner.monitor(resource, timeout=timeout, interval=interval)
            expected = state.role
            if not outcome.failed and outcome.role == expected:
                continue
            state.role, state.rc = outcome.role, outcome.rc
            state.failed = "monitor"
            await local.count_failure(name, "monitor")
            await local.report(name)
            log.warning(
                "node.monitor_failed",
                node=self._node,
                resource=name,
                expected=expected,
                found=outcome.role,
                reason=outcome.reason,
            )
            await self._runner.events.emit(
                "monitor.failed",
                f"monitor of {name} on {self._node}: expected {expected}, found "
                f"{outcome.role} ({outcome.reason})",
                node=self._node,
                resource=name,
                ok=False,
                rc=outcome.rc,
            )
            return
