"""The node's reconcile loop: probe at start, then run what the leader decided for this
node, keep recurring monitors, and report every change.

Level-based: each pass reads the node's current decision and acts on every step not
already running. A decision is obeyed only if it carries the current leader's token
(a deposed leader's last words are ignored), and a start or promote runs only after
the pending announcement passed the claim check in the store (local.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from reconciler import declared_store, keys
from reconciler.agent import actions
from reconciler.agent.claims import Claim
from reconciler.agent.connectivity import ConnectivityMonitor
from reconciler.agent.decisions import Decision, Step
from reconciler.agent.election import current_leader
from reconciler.agent.local import LocalState
from reconciler.agent.records import Observed
from reconciler.errors import HactlError
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Resource
from reconciler.ocf.environment import CloneInfo, RunContext
from reconciler.store.base import Compare, Store, StoreError, StoreUnavailable

log = structlog.get_logger(__name__)

PROBE_CONCURRENCY = 16
PASS_RETRY_S = 0.1
ACTION_CONCURRENCY = 16
"""Agent processes one node runs at once (Pacemaker's node-action-limit): a large
apply queues its starts here instead of forking hundreds of processes at once."""


class NodeReconciler:
    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        local: LocalState,
        context: RunContext,
        stopping: Callable[[], bool],
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self.local = local
        self._context = context
        self._stopping = stopping
        self._generation = -1
        self.declared = DeclaredState.of([])
        self._running: dict[str, asyncio.Task[None]] = {}
        self._monitors: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(ACTION_CONCURRENCY)
        self.events = EventLog(store, cluster=cluster, writer=f"{node}/node")
        self._connectivity = ConnectivityMonitor(
            store, cluster=cluster, node=node, declared=self._declared_now, events=self.events
        )
        self.offline = False
        """Set when the store is lost: act (stop) without reporting."""

    # --- declared state --------------------------------------------------------------

    async def refresh_declared(self) -> None:
        generation = await declared_store.read_generation(self._store, self._cluster)
        number = generation.number if generation else 0
        if number != self._generation:
            self.declared = (
                await declared_store.read_snapshot(self._store, self._cluster, generation)
                if generation
                else DeclaredState.of([])
            )
            self._generation = number

    def _resource(self, name: str) -> Resource | None:
        return self.declared.resources.get(name)

    def _promotable(self, resource: Resource) -> bool:
        return bool(resource.spec.clone and resource.spec.clone.promotable)

    def _clone(self, resource: Resource) -> CloneInfo | None:
        nodes = sorted(self.declared.nodes)
        index = nodes.index(self._node) if self._node in nodes else 0
        return actions.clone_info(resource, index, len(nodes))

    # --- probes ----------------------------------------------------------------------

    async def probe_all(self) -> None:
        """Find out what already runs here (after a crash or restart) before acting."""
        await self.refresh_declared()
        limit = asyncio.Semaphore(PROBE_CONCURRENCY)

        async def probe(resource: Resource) -> None:
            async with limit:
                result = await actions.run(
                    resource,
                    "monitor",
                    context=self._context,
                    timeout=actions.op_timeout(resource, "monitor"),
                    clone=self._clone(resource),
                )
            outcome = actions.after_monitor(
                result, promotable=self._promotable(resource), probe=True
            )
            state = self.local.of(resource.metadata.name)
            state.role, state.rc = outcome.role, outcome.rc
            state.failed = "monitor" if outcome.failed else None
            await self.local.report(resource.metadata.name)
            if state.possibly_active and not outcome.failed:
                self._start_monitor(resource.metadata.name)

        await asyncio.gather(*(probe(r) for r in self.declared.resources.values()))
        log.info("node.probed", node=self._node, active=self.local.active())

    # --- the loop --------------------------------------------------------------------

    async def run(self) -> None:
        """Act on decisions until told to stop (the caller cancels this task); the
        node's connectivity checks run alongside, for as long as this does."""
        checks = asyncio.create_task(self._connectivity.run(), name="connectivity")
        try:
            await self._act_on_decisions()
        finally:
            checks.cancel()
            await asyncio.gather(checks, return_exceptions=True)

    async def _declared_now(self) -> DeclaredState:
        await self.refresh_declared()
        return self.declared

    async def _act_on_decisions(self) -> None:
        key = keys.decisions(self._cluster, self._node)
        while not self._stopping():
            try:
                revision = await self._store.revision()
                await self.pass_once()
                watch = self._store.watch(key, start_revision=revision + 1)
                try:
                    await anext(watch)
                finally:
                    await watch.aclose()  # type: ignore[attr-defined]
            except HactlError as exc:  # the store hiccuped: the next pass reads afresh
                log.warning("node.pass_failed", node=self._node, error=str(exc))
                await asyncio.sleep(PASS_RETRY_S)

    async def pass_once(self) -> None:
        kv = await self._store.get(keys.decisions(self._cluster, self._node))
        if kv is None:
            return
        decision = Decision.from_json(kv.value)
        leader = await current_leader(self._store, self._cluster)
        if leader is None or leader.token != decision.token:
            log.info("node.decision_ignored", node=self._node, token=decision.token)
            return
        await self.refresh_declared()
        for step in decision.steps:
            running = self._running.get(step.resource)
            if running is not None and not running.done():
                continue
            self._running[step.resource] = asyncio.create_task(
                self._step(step, decision.token, kv.mod_revision)
            )

    async def _step(self, step: Step, token: int, decision_revision: int) -> None:
        resource = self._resource(step.resource)
        if resource is None:
            log.error("node.unknown_resource", node=self._node, resource=step.resource)
            return
        if step.op == "cleanup":
            await self.cleanup(resource)
            return
        guards = [
            Compare(keys.leader(self._cluster), "create", "==", token),
            Compare.unchanged(keys.decisions(self._cluster, self._node), decision_revision),
        ]
        if step.op in ("start", "promote"):
            claim_kv = await self._store.get(keys.claim(self._cluster, step.resource))
            claim = Claim.from_json(claim_kv.value) if claim_kv else Claim()
            allowed = claim.active if step.op == "start" else claim.promoted
            if self._node not in allowed or claim_kv is None:
                return
            guards.append(Compare.value_is(claim_kv.key, claim_kv.value))
        if not await self.local.announce(step.resource, step.op, guards):  # type: ignore[arg-type]
            return
        await self.execute(resource, step.op)

    async def execute(self, resource: Resource, op: str) -> bool:
        """Run one action and report its outcome; True when it succeeded."""
        name = resource.metadata.name
        self._stop_monitor(name)
        async with self._slots:
            result = await actions.run(
                resource,
                op,
                context=self._context,
                timeout=actions.op_timeout(resource, op),
                clone=self._clone(resource),
            )
        outcome = actions.after_action(op, result, promotable=self._promotable(resource))
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
        if not outcome.failed and state.role != "Stopped":
            self._start_monitor(name)
        if not (self.offline or self._stopping()):
            verdict = f"failed: {outcome.reason}" if outcome.failed else "ok"
            await self.events.emit(
                f"action.{op}",
                f"{op} {name} on {self._node}: {verdict}",
                node=self._node,
                resource=name,
                ok=not outcome.failed,
                rc=outcome.rc,
            )
        return not outcome.failed

    # --- cleanup ---------------------------------------------------------------------

    async def cleanup(self, resource: Resource) -> None:
        """Forget this node's failures of `resource` recorded before the cleanup intent
        (reconciler/agent/intent_work.py), and probe it again if it was left failed: a
        failure means "state unknown", and only the agent can say what is true now."""
        name = resource.metadata.name
        revision = await self._cleanup_revision(name)
        if not revision:
            return
        await self.local.forget_failures(name, before=revision)
        kv = await self._store.get(keys.observed(self._cluster, self._node, name))
        if kv is None or kv.mod_revision >= revision or Observed.from_json(kv.value).failed is None:
            return
        self._stop_monitor(name)
        async with self._slots:
            result = await actions.run(
                resource,
                "monitor",
                context=self._context,
                timeout=actions.op_timeout(resource, "monitor"),
                clone=self._clone(resource),
            )
        outcome = actions.after_monitor(result, promotable=self._promotable(resource), probe=True)
        state = self.local.of(name)
        state.role, state.rc = outcome.role, outcome.rc
        state.failed = "monitor" if outcome.failed else None
        if outcome.failed:
            await self.local.count_failure(name, "monitor")
        await self.local.report(name, force=True)
        log.info("node.cleaned_up", node=self._node, resource=name, found=outcome.role)
        await self.events.emit(
            "resource.probed",
            f"cleanup of {name} on {self._node}: probed again, found {outcome.role}",
            node=self._node,
            resource=name,
            ok=not outcome.failed,
        )
        if state.possibly_active and not outcome.failed:
            self._start_monitor(name)

    async def _cleanup_revision(self, name: str) -> int:
        """The newest create revision of the cleanup intents naming `name` here (0: none)."""
        found = [
            await self._store.get(keys.intent(self._cluster, f"cleanup/{name}")),
            await self._store.get(keys.intent(self._cluster, f"cleanup/{name}/{self._node}")),
        ]
        return max((kv.create_revision for kv in found if kv is not None), default=0)

    # --- monitors --------------------------------------------------------------------

    def _start_monitor(self, name: str) -> None:
        self._stop_monitor(name)
        self._monitors[name] = asyncio.create_task(self._monitor(name))

    def _stop_monitor(self, name: str) -> None:
        task = self._monitors.pop(name, None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _monitor(self, name: str) -> None:
        """The recurring monitor of one active resource, until it fails or is cancelled."""
        while True:
            resource = self._resource(name)
            state = self.local.of(name)
            ops = actions.monitor_ops(resource, state.role) if resource else []
            if not ops:
                return
            interval, timeout = min(ops)
            await asyncio.sleep(interval)
            if resource is None:
                return
            async with self._slots:
                result = await actions.run(
                    resource,
                    "monitor",
                    context=self._context,
                    timeout=timeout,
                    interval=interval,
                    clone=self._clone(resource),
                )
            outcome = actions.after_monitor(
                result, promotable=self._promotable(resource), probe=False
            )
            expected = state.role
            if not outcome.failed and outcome.role == expected:
                continue
            state.role, state.rc = outcome.role, outcome.rc
            state.failed = "monitor"
            await self.local.count_failure(name, "monitor")
            await self.local.report(name)
            log.warning(
                "node.monitor_failed",
                node=self._node,
                resource=name,
                expected=expected,
                found=outcome.role,
                reason=outcome.reason,
            )
            await self.events.emit(
                "monitor.failed",
                f"monitor of {name} on {self._node}: expected {expected}, found "
                f"{outcome.role} ({outcome.reason})",
                node=self._node,
                resource=name,
                ok=False,
                rc=outcome.rc,
            )
            return

    async def stop_everything(self) -> bool:
        """Stop every possibly active resource here, dependents first; True if all stopped.

        Used when the leader cannot do it: lease lost (fail fast), or shutdown with no
        leader. Group members stop in reverse order; everything else at once."""
        for task in [*self._running.values(), *self._monitors.values()]:
            task.cancel()
        # The declared state already known is enough to stop in order: asking the
        # store (likely unreachable now) could eat the budget this runs against.
        active = set(self.local.active())
        ordered: list[list[str]] = []
        in_groups: set[str] = set()
        for group in self.declared.groups.values():
            members = [m for m in reversed(group.spec.resources) if m in active]
            in_groups.update(members)
            ordered.append(members)
        loose = [[name] for name in sorted(active - in_groups)]

        async def stop_chain(chain: list[str]) -> bool:
            for name in chain:
                resource = self._resource(name)
                if resource is None or not await self.execute(resource, "stop"):
                    return False
            return True

        results = await asyncio.gather(*(stop_chain(c) for c in [*ordered, *loose]))
        return all(results)
