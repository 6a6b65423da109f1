"""Running one resource action on this node and recording what it found.

Every start, stop, promote, demote and monitor of the node goes through here, under
the node-action-limit (a large apply queues its actions instead of forking hundreds
of processes at once); the outcome becomes the resource's local state (actions.py
decides the role to report) and is written to the store when it changed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from reconciler.agent import actions
from reconciler.agent.local import LocalState
from reconciler.agent.node_declared import NodeDeclared
from reconciler.events import EventLog
from reconciler.model.kinds import Resource
from reconciler.ocf.environment import RunContext
from reconciler.ocf.runner import ActionResult
from reconciler.store.base import StoreError, StoreUnavailable

log = structlog.get_logger(__name__)

ACTION_CONCURRENCY = 16
"""Agent processes one node runs at once (Pacemaker's node-action-limit)."""


class ActionRunner:
    def __init__(
        self,
        *,
        node: str,
        local: LocalState,
        declared: NodeDeclared,
        context: RunContext,
        events: EventLog,
        stopping: Callable[[], bool],
    ) -> None:
        self._node = node
        self.local = local
        self._declared = declared
        self._context = context
        self.events = events
        self._stopping = stopping
        self._slots = asyncio.Semaphore(ACTION_CONCURRENCY)
        self.offline = False
        """Set when the store is lost: act (stop) without reporting."""

    async def monitor(
        self,
        resource: Resource,
        *,
        timeout: float,  # noqa: ASYNC109 - the agent's own timeout, enforced by the runner
        interval: float = 0.0,
        limited: bool = True,
    ) -> actions.Outcome:
        """Run `monitor` (interval 0: a probe) and return the role it found; `limited`:
        within the node-action-limit (the start-up probes have a limit of their own)."""
        probe = interval == 0.0
        if limited:
            async with self._slots:
                result = await self._monitor(resource, timeout=timeout, interval=interval)
        else:
            result = await self._monitor(resource, timeout=timeout, interval=interval)
        return actions.after_monitor(
            result, promotable=self._declared.promotable(resource), probe=probe
        )

    async def _monitor(
        self,
        resource: Resource,
        *,
        timeout: float,  # noqa: ASYNC109
        interval: float,
    ) -> ActionResult:
        return await actions.run(
            resource,
            "monitor",
            context=self._context,
            timeout=timeout,
            interval=interval,
            clone=self._declared.clone(resource),
        )

    def found(self, name: str, outcome: actions.Outcome) -> None:
        """What a probe found becomes the resource's local state."""
        state = self.local.of(name)
        state.role, state.rc = outcome.role, outcome.rc
        state.failed = "monitor" if outcome.failed else None

    async def act(self, resource: Resource, op: str) -> actions.Outcome:
        """Run one action and report its outcome (unless the store is lost)."""
        name = resource.metadata.name
        async with self._slots:
            result = await actions.run(
                resource,
                op,
                context=self._context,
                timeout=actions.op_timeout(resource, op),
                clone=self._declared.clone(resource),
            )
        outcome = actions.after_action(op, result, promotable=self._declared.promotable(resource))
        state = self.local.of(name)
        state.role, state.rc, state.pending = outcome.role, outcome.rc, None
        state.failed = op if outcome.failed else None  # type: ignore[assignment]
        try:
            # Once the store is gone, reporting could only eat the fail-fast budget.
            if outcome.failed and not self.offline:
                await self.local.count_failure(name, op)  # type: ignore[arg-type]
            if not self.offline:
                await self.local.report(name)
        except (StoreError, StoreUnavailable) as exc:
            # Acting goes on without the store (fail-fast stops); the leader fences
            # a node whose reports stopped, so a missed report is never trusted.
            log.warning("node.report_failed", node=self._node, resource=name, error=str(exc))
        log.info(
            "node.action",
            node=self._node,
            resource=name,
            op=op,
            ok=not outcome.failed,
            reason=outcome.reason,
        )
        return outcome

    async def announce_outcome(self, name: str, op: str, outcome: actions.Outcome) -> None:
        """The action's event, unless the agent is leaving or lost the store."""
        if self.offline or self._stopping():
            return
        verdict = f"failed: {outcome.reason}" if outcome.failed else "ok"
        await self.events.emit(
            f"action.{op}",
            f"{op} {name} on {self._node}: {verdict}",
            node=self._node,
            resource=name,
            ok=not outcome.failed,
            rc=outcome.rc,
        )
