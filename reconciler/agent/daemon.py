"""`hactl agent --node NAME`: one node's agent, from start to exit.

    probe what already runs here → join (membership lease) → campaign for leader →
    reconcile decisions … until SIGTERM (clean shutdown) or a lost lease (fail fast).

Exit codes: 0 clean shutdown; 1 resources could not be stopped after the lease was
lost (fencing must take over), or the watchdog died; 2 usage (node not declared, another
agent for this node, a lease shorter than deadtime); 3 the store was lost and every
resource here was stopped.

With `stonith.watchdogTimeout` set, the agent first spawns its watchdog (watchdog.py) and
pets it after each lease refresh; it stands it down only after a clean shutdown (or when
it never held the node's lease). Any other exit leaves it armed: it then kills whatever
the node still runs. A poison pill for this incarnation fires it at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import structlog

from reconciler import declared_store, keys
from reconciler.agent.budget import LeaseBudget
from reconciler.agent.election import Election
from reconciler.agent.fencer import DeviceFencer
from reconciler.agent.leader import Leader
from reconciler.agent.local import LocalState
from reconciler.agent.membership import AlreadyMember, MemberInfo, Membership
from reconciler.agent.poison import watch_for_pill
from reconciler.agent.reconcile import NodeReconciler
from reconciler.agent.records import CleanShutdown
from reconciler.agent.watchdog import Watchdog
from reconciler.errors import UsageError
from reconciler.ocf.environment import RunContext
from reconciler.store.base import Compare, Put, Store, StoreError, StoreUnavailable

log = structlog.get_logger(__name__)

SHUTDOWN_GRACE_S = 60.0
"""How long a leaving agent waits for the leader to move its resources away."""


@dataclass(frozen=True)
class AgentOptions:
    cluster: str
    node: str
    rsctmp: Path


def default_rsctmp(cluster: str, node: str) -> Path:
    """Each node agent's own HA_RSCTMP, so agents of one machine never share state files."""
    base = (
        Path("/run/hactl")
        if os.geteuid() == 0
        else Path(
            os.environ.get("XDG_RUNTIME_DIR") or f"/tmp/hactl-{os.geteuid()}"  # noqa: S108
        )
    )
    return base / cluster / node


class NodeAgent:
    """`lease_store` is a second connection to the same store, used only to keep the
    membership lease: a refresh must never queue behind a leader's bulk writes."""

    def __init__(self, store: Store, options: AgentOptions, *, lease_store: Store) -> None:
        self._store = store
        self._lease_store = lease_store
        self._options = options
        self._stopping = False
        self._shutdown = asyncio.Event()

    def request_shutdown(self) -> None:
        self._shutdown.set()

    async def run(self) -> int:
        cluster, node = self._options.cluster, self._options.node
        declared = await declared_store.read_declared(self._store, cluster)
        if node not in declared.nodes:
            raise UsageError(f"node {node} is not declared in cluster {cluster} (hactl get nodes)")
        timing = declared.cluster.spec.timing
        budget = LeaseBudget(
            ttl=timing.deadtime.seconds,
            keepalive=timing.keepalive.seconds,
            warntime=timing.warntime.seconds,
        )
        stonith = declared.cluster.spec.stonith
        watchdog = (
            await Watchdog.start(
                node=node, cluster=cluster, watchdog_timeout=stonith.watchdog_timeout.seconds
            )
            if stonith.enabled and stonith.watchdog_timeout.milliseconds > 0
            else None
        )
        membership = Membership(
            self._lease_store,
            cluster=cluster,
            info=MemberInfo.for_this_process(node),
            budget=budget,
            on_refreshed=watchdog.pet if watchdog is not None else None,
            watchdog=watchdog.timeout if watchdog is not None else 0.0,
        )
        code = 1
        try:
            code = await self._run(membership, watchdog)
        finally:
            # Stand the watchdog down only when nothing can run here unseen: after a clean
            # shutdown, or when this agent never held the node's lease. Otherwise the
            # process exits and the watchdog, at end of file, kills what is left.
            if watchdog is not None and (code == 0 or not membership.may_hold_lease):
                await watchdog.stand_down()
        return code

    async def _run(self, membership: Membership, watchdog: Watchdog | None) -> int:
        cluster, node = self._options.cluster, self._options.node
        adopted = await membership.adopt()
        if not adopted and await self._store.get(keys.member(cluster, node)) is not None:
            raise AlreadyMember(f"node {node} already has a live agent")
        keeper = asyncio.create_task(membership.keep()) if adopted else None
        info = membership.info
        local = LocalState(self._store, cluster=cluster, node=node, incarnation=info.incarnation)
        await local.load_failcounts()
        reconciler = NodeReconciler(
            self._store,
            cluster=cluster,
            node=node,
            local=local,
            context=RunContext(cluster=cluster, node=node, rsctmp=self._options.rsctmp),
            stopping=lambda: self._stopping,
        )
        await reconciler.probe_all()
        if not adopted:
            await membership.join()
            keeper = asyncio.create_task(membership.keep())
        assert keeper is not None
        election = Election(self._store, cluster=cluster, membership=membership)
        keeper.set_name("membership")
        tasks = [
            keeper,
            asyncio.create_task(election.run(), name="election"),
            asyncio.create_task(self._lead(election, node), name="leader"),
            asyncio.create_task(reconciler.run(), name="reconcile"),
        ]
        if watchdog is not None:
            # A dead watchdog is an uncorrectable fault: its task raises, and a crashed
            # task makes the agent fail fast below.
            tasks.append(asyncio.create_task(watchdog.guard(), name="watchdog"))
            pill = watch_for_pill(
                self._store, cluster=cluster, node=node, incarnation=info.incarnation
            )
            tasks.append(asyncio.create_task(self._obey(pill, watchdog), name="poison"))
        lost = asyncio.create_task(membership.lost.wait())
        asked = asyncio.create_task(self._shutdown.wait())
        watched: set[asyncio.Task[Any]] = {lost, asked, *tasks}
        while True:
            done, watched = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
            if lost in done or asked in done:
                break
            if any(not t.cancelled() and t.exception() for t in done):
                break
            # a loop that ended normally (an election given up) is simply no longer watched
        crashed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
        if crashed:
            # The loops absorb store errors themselves: one that raised is a bug. Nothing
            # it decided can be trusted any more, so stop everything as if the lease were lost.
            for task in crashed:
                log.critical(
                    "agent.task_crashed", task=task.get_name(), error=repr(task.exception())
                )
            await self._fail_fast(tasks, reconciler)
            return 1
        if membership.lost.is_set() and not self._shutdown.is_set():
            return await self._fail_fast(tasks, reconciler)
        return await self._leave(tasks, reconciler, membership, local)

    @staticmethod
    async def _obey(pill: Awaitable[str], watchdog: Watchdog) -> None:
        """A poison pill for this incarnation: stop petting and self-fence at once."""
        why = await pill
        watchdog.fire(why)

    async def _lead(self, election: Election, node: str) -> None:
        """Run the leader loop whenever this agent holds leadership."""
        while True:
            await election.changed.wait()
            election.changed.clear()
            if not election.is_leader:
                continue
            leader = Leader(
                self._store,
                cluster=self._options.cluster,
                node=node,
                election=election,
                fencer=DeviceFencer(cluster=self._options.cluster, by=node),
            )
            await leader.run()

    async def _fail_fast(self, tasks: list[asyncio.Task[None]], reconciler: NodeReconciler) -> int:
        log.error("agent.lease_lost", node=self._options.node, action="stopping all resources")
        self._stopping = True
        reconciler.offline = True
        await _cancel(tasks)
        if await reconciler.stop_everything():
            log.error("agent.exit", node=self._options.node, reason="store lost; resources stopped")
            return 3
        log.critical("agent.exit", node=self._options.node, reason="a stop failed; fence me")
        return 1

    async def _leave(
        self,
        tasks: list[asyncio.Task[None]],
        reconciler: NodeReconciler,
        membership: Membership,
        local: LocalState,
    ) -> int:
        """Clean shutdown: let the leader move everything away, then say so and go."""
        cluster, node = self._options.cluster, self._options.node
        log.info("agent.shutting_down", node=node, active=local.active())
        request = membership.info.incarnation.encode()
        with contextlib.suppress(StoreError, StoreUnavailable):
            await self._store.put(keys.shutdown(cluster, node), request)
        deadline = time.monotonic() + SHUTDOWN_GRACE_S
        while local.active() and not membership.lost.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            local.changed.clear()
            waiters = [
                asyncio.create_task(local.changed.wait()),
                asyncio.create_task(membership.lost.wait()),
            ]
            await asyncio.wait(waiters, timeout=remaining, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
        self._stopping = True
        await _cancel(tasks)
        if local.active() and not await reconciler.stop_everything():
            log.critical("agent.exit", node=node, reason="a stop failed during shutdown")
            return 1
        record = CleanShutdown(membership.info.incarnation, time.time())
        with contextlib.suppress(StoreError, StoreUnavailable):
            await self._store.txn(
                [Compare.value_is(keys.member(cluster, node), membership.info.to_json())],
                [Put(keys.clean_shutdown(cluster, node), record.to_json())],
            )
        await membership.leave()
        log.info("agent.exit", node=node, reason="clean shutdown")
        return 0


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def run_agent(store: Store, options: AgentOptions, *, lease_store: Store) -> int:
    agent = NodeAgent(store, options, lease_store=lease_store)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, agent.request_shutdown)
    try:
        return await agent.run()
    finally:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
