"""The node's reconcile loop: probe at start, then run what the leader decided for this
node, and report every change.

Level-based: each pass reads the node's current decision and acts on every step not
already running. A decision is obeyed only if it carries the current leader's token
(a deposed leader's last words are ignored), and a start or promote runs only after
the pending announcement passed the claim check in the store (local.py).

The parts: the declared generation as the node knows it (node_declared.py), running
one action and recording its outcome (action_runner.py), recurring monitors
(monitors.py), the node's share of a cleanup (cleanup_step.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from reconciler import keys
from reconciler.agent import actions
from reconciler.agent.action_runner import ActionRunner
from reconciler.agent.claims import Claim
from reconciler.agent.cleanup_step import CleanupStep
from reconciler.agent.connectivity import ConnectivityMonitor
from reconciler.agent.decisions import Decision, Step
from reconciler.agent.election import current_leader
from reconciler.agent.local import LocalState
from reconciler.agent.monitors import RecurringMonitors
from reconciler.agent.node_declared import NodeDeclared
from reconciler.errors import HactlError
from reconciler.events import EventLog
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Resource
from reconciler.ocf.environment import RunContext
from reconciler.store.base import Compare, Store

log = structlog.get_logger(__name__)

PROBE_CONCURRENCY = 16
PASS_RETRY_S = 0.1


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
        self._stopping = stopping
        self._declared = NodeDeclared(store, cluster=cluster, node=node)
        self._running: dict[str, asyncio.Task[None]] = {}
        events = EventLog(store, cluster=cluster, writer=f"{node}/node")
        self._runner = ActionRunner(
            node=node,
            local=local,
            declared=self._declared,
            context=context,
            events=events,
            stopping=stopping,
        )
        self._monitors = RecurringMonitors(node=node, runner=self._runner, declared=self._declared)
        self._cleanup = CleanupStep(
            store, cluster=cluster, node=node, runner=self._runner, monitors=self._monitors
        )
        self._connectivity = ConnectivityMonitor(
            store, cluster=cluster, node=node, declared=self._declared.refresh, events=events
        )

    @property
    def offline(self) -> bool:
        """Set when the store is lost: act (stop) without reporting."""
        return self._runner.offline

    @offline.setter
    def offline(self, value: bool) -> None:
        self._runner.offline = value

    @property
    def declared(self) -> DeclaredState:
        return self._declared.state

    # --- probes ----------------------------------------------------------------------

    async def probe_all(self) -> None:
        """Find out what already runs here (after a crash or restart) before acting."""
        await self._declared.refresh()
        limit = asyncio.Semaphore(PROBE_CONCURRENCY)

        async def probe(resource: Resource) -> None:
            name = resource.metadata.name
            async with limit:
                outcome = await self._runner.monitor(
                    resource, timeout=actions.op_timeout(resource, "monitor"), limited=False
                )
            self._runner.found(name, outcome)
            await self.local.report(name)
            if self.local.of(name).possibly_active and not outcome.failed:
                self._monitors.start(name)

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
        await self._declared.refresh()
        for step in decision.steps:
            running = self._running.get(step.resource)
            if running is not None and not running.done():
                continue
            self._running[step.resource] = asyncio.create_task(
                self._step(step, decision.token, kv.mod_revision)
            )

    async def _step(self, step: Step, token: int, decision_revision: int) -> None:
        resource = self._declared.resource(step.resource)
        if resource is None:
            log.error("node.unknown_resource", node=self._node, resource=step.resource)
            return
        if step.op == "cleanup":
            await self._cleanup.run(resource)
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
        """Run one action and report its outcome; True when it succeeded. The resource's
        recurring monitor pauses meanwhile and resumes if it is left active."""
        name = resource.metadata.name
        self._monitors.stop(name)
        outcome = await self._runner.act(resource, op)
        if not outcome.failed and self.local.of(name).role != "Stopped":
            self._monitors.start(name)
        await self._runner.announce_outcome(name, op, outcome)
        return not outcome.failed

    # --- without a leader --------------------------------------------------------------

    async def stop_everything(self) -> bool:
        """Stop every possibly active resource here, dependents first; True if all stopped.

        Used when the leader cannot do it: lease lost (fail fast), or shutdown with no
        leader. Group members stop in reverse order; everything else at once."""
        for task in [*self._running.values(), *self._monitors.tasks()]:
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
                resource = self._declared.resource(name)
                if resource is None or not await self.execute(resource, "stop"):
                    return False
            return True

        results = await asyncio.gather(*(stop_chain(c) for c in [*ordered, *loose]))
        return all(results)
