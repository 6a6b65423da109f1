"""The node's share of a `cleanup` intent (reconciler/agent/intent_work.py): forget
this node's failures of a resource recorded before the intent, and probe it again if
it was left failed — a failure means "state unknown", and only the agent can say what
is true now."""

from __future__ import annotations

import structlog

from reconciler import keys
from reconciler.agent import actions
from reconciler.agent.action_runner import ActionRunner
from reconciler.agent.monitors import RecurringMonitors
from reconciler.agent.records import Observed
from reconciler.model.kinds import Resource
from reconciler.store.base import Store

log = structlog.get_logger(__name__)


class CleanupStep:
    def __init__(
        self,
        store: Store,
        *,
        cluster: str,
        node: str,
        runner: ActionRunner,
        monitors: RecurringMonitors,
    ) -> None:
        self._store = store
        self._cluster = cluster
        self._node = node
        self._runner = runner
        self._monitors = monitors

    async def run(self, resource: Resource) -> None:
        name = resource.metadata.name
        local = self._runner.local
        revision = await self._revision(name)
        if not revision:
            return
        await local.forget_failures(name, before=revision)
        kv = await self._store.get(keys.observed(self._cluster, self._node, name))
        if kv is None or kv.mod_revision >= revision or Observed.from_json(kv.value).failed is None:
            return
        self._monitors.stop(name)
        outcome = await self._runner.monitor(
            resource, timeout=actions.op_timeout(resource, "monitor")
        )
        self._runner.found(name, outcome)
        if outcome.failed:
            await local.count_failure(name, "monitor")
        await local.report(name, force=True)
        log.info("node.cleaned_up", node=self._node, resource=name, found=outcome.role)
        await self._runner.events.emit(
            "resource.probed",
            f"cleanup of {name} on {self._node}: probed again, found {outcome.role}",
            node=self._node,
            resource=name,
            ok=not outcome.failed,
        )
        if local.of(name).possibly_active and not outcome.failed:
            self._monitors.start(name)

    async def _revision(self, name: str) -> int:
        """The newest create revision of the cleanup intents naming `name` here (0: none)."""
        found = [
            await self._store.get(keys.intent(self._cluster, f"cleanup/{name}")),
            await self._store.get(keys.intent(self._cluster, f"cleanup/{name}/{self._node}")),
        ]
        return max((kv.create_revision for kv in found if kv is not None), default=0)
