"""The agent's side of watchdog fencing: spawn the watchdog, pet it, stand it down.

The watchdog (watchdog_process.py) is a separate process so that it works while this
agent is frozen or hung. The agent pets it after each lease refresh that succeeded,
never past its fail-fast budget (Membership decides), carrying the moment the refresh was
sent; it stands it down only on a clean shutdown, or when it never held a lease. If the
watchdog dies, `guard()` raises: the agent then fails fast, as for any uncorrectable fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import structlog

from reconciler.agent import watchdog_process
from reconciler.agent.watchdog_timing import node_timeout
from reconciler.errors import HactlError, UsageError
from reconciler.locate import find_fence_driver

log = structlog.get_logger(__name__)

PROCESS_FILE = Path(watchdog_process.__file__)
STAND_DOWN_WAIT_S = 5.0


class WatchdogDied(HactlError):
    """The watchdog process ended while the agent still relied on it."""


class Watchdog:
    def __init__(self, process: asyncio.subprocess.Process, *, node: str, timeout: float) -> None:
        self._process = process
        self._node = node
        self.timeout = timeout
        """The node's watchdog timeout: half the cluster's watchdogTimeout."""
        self._done = False
        self.poisoned = False

    @classmethod
    async def start(cls, *, node: str, cluster: str, watchdog_timeout: float) -> Watchdog:
        driver = find_fence_driver("fence_process")
        if driver is None:
            raise UsageError("watchdog fencing needs the fence_process driver (hactl's fence/)")
        timeout = node_timeout(watchdog_timeout)
        # No HACTL_NODE: the watchdog must not carry the node's markers it fences by.
        env = {k: v for k, v in os.environ.items() if k != "HACTL_NODE"}
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-I",
            str(PROCESS_FILE),
            "--agent-pid",
            str(os.getpid()),
            "--timeout",
            repr(timeout),
            "--driver",
            str(driver),
            "--node",
            node,
            "--cluster",
            cluster,
            stdin=asyncio.subprocess.PIPE,
            env=env,
            start_new_session=True,  # a signal to the agent's process group spares it
        )
        log.info("watchdog.started", node=node, pid=process.pid, timeout=timeout)
        return cls(process, node=node, timeout=timeout)

    def _send(self, line: str) -> None:
        stdin = self._process.stdin
        if stdin is None or stdin.is_closing():
            return
        with contextlib.suppress(ConnectionError, RuntimeError):
            stdin.write(line.encode() + b"\n")

    def pet(self, sent: float) -> None:
        """The lease refresh sent at `sent` (time.monotonic()) succeeded."""
        if not self.poisoned and not self._done:
            self._send(f"pet {sent!r}")

    def fire(self, why: str) -> None:
        """Self-fence now: stop petting, and have the watchdog kill this node."""
        self.poisoned = True
        log.critical("watchdog.fire", node=self._node, reason=why)
        self._send(f"fire {why}")

    async def stand_down(self) -> None:
        """The node is clean (or never joined): end the watchdog without fencing."""
        if self._done:
            return
        self._done = True
        self._send("stand-down")
        stdin = self._process.stdin
        if stdin is not None:
            stdin.close()
        try:
            await asyncio.wait_for(self._process.wait(), STAND_DOWN_WAIT_S)
        except TimeoutError:
            log.error("watchdog.stand_down_timeout", node=self._node, pid=self._process.pid)
            return
        log.info("watchdog.stood_down", node=self._node)

    async def guard(self) -> None:
        """Returns never while the watchdog lives; raises WatchdogDied when it ends."""
        code = await self._process.wait()
        if self._done:
            await asyncio.Event().wait()
        raise WatchdogDied(f"the watchdog of node {self._node} exited with {code}")
