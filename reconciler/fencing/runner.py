"""Fencing a node through its FenceDevices, topology level by level: the fence runner.

Pacemaker's semantics, as `Pacemaker Explained` gives them for fencing topology: levels in
ascending order; within a level every device must succeed, in order, and the first failure
ends the level; the first level that succeeds ends the fencing; when every level has failed,
so has the fencing. A `reboot` on a level of several devices (a node with two power
supplies on two switched PDUs) becomes `off` on each device, then `on` on each: rebooting
one PDU after the other would never cut both supplies at once. Only the `off` steps count,
as with a single device's reboot, whose `on` half failing is "a don't-care" for the
fence-agents API.

Each device gets its `spec.timeout` (or the caller's override) for the whole of its part,
retries included. A failed run is retried up to `retries` times (Pacemaker's
`pcmk_off_retries` default is 2) while that time lasts: management boards drop connections,
and a retry is cheaper than failing over to the next level; the bound keeps a broken device
from holding up the next level or the failover. A driver that timed out or could not be run
is not retried: its time is spent, or the next try would fail the same way.

No exception for a failed fencing: the outcome says what happened. A caller that is
cancelled (a leader that lost its lease) cancels the driver too, whose process group dies.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from reconciler.fencing.driver import run_driver
from reconciler.fencing.options import DriverInput, OptionsError, driver_input, redact
from reconciler.fencing.outcome import Attempt, DriverAction, FenceAction, FenceOutcome
from reconciler.fencing.topology import Level, levels_for
from reconciler.locate import find_fence_driver
from reconciler.model.kinds import FenceDevice

log = structlog.get_logger(__name__)

DEFAULT_RETRIES = 2
RETRY_DELAY = 1.0
"""Seconds between a failed run and its retry: a management board's reconnect time."""
OUTPUT_TAIL = 2000
"""Characters of each output stream kept in an Attempt (the end, where the error is)."""

Locate = Callable[[str], Path | None]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def _tail(data: bytes, secrets: Iterable[str], *, cut: bool) -> str:
    text = redact(data.decode(errors="replace"), secrets, cut=cut)
    return text if len(text) <= OUTPUT_TAIL else "…" + text[-OUTPUT_TAIL:]


class _Fencing:
    """One fencing of one node: its settings and the attempts made so far."""

    def __init__(
        self,
        node: str,
        *,
        cluster: str,
        device_timeout: float | None,
        give_up_at: float | None,
        retries: int,
        retry_delay: float,
        locate: Locate,
        clock: Clock,
    ) -> None:
        self.node = node
        self.device_timeout = device_timeout
        self.give_up_at = give_up_at
        self.retries = retries
        self.retry_delay = retry_delay
        self.locate = locate
        self.clock = clock
        self.env = {**os.environ, "HACTL_CLUSTER": cluster}
        self.attempts: list[Attempt] = []

    def out_of_time(self) -> bool:
        return self.give_up_at is not None and time.monotonic() >= self.give_up_at

    async def level(self, level: Level, action: FenceAction) -> bool:
        """Run the level's devices; True if every step that counts succeeded."""
        steps: list[tuple[FenceDevice, DriverAction, bool]]
        if action == "reboot" and len(level.devices) > 1:
            steps = [(d, "off", True) for d in level.devices]
            steps += [(d, "on", False) for d in level.devices]
        else:
            steps = [(d, action, True) for d in level.devices]
        for device, step_action, counts in steps:
            if not await self.device(device, step_action, level.number) and counts:
                return False
        return True

    async def device(self, device: FenceDevice, action: DriverAction, level: int) -> bool:
        """Run one device's driver, with retries within its timeout; True on success."""
        path = self.locate(device.spec.driver)
        if path is None:
            self._refused(device, action, level, f"driver {device.spec.driver} not found")
            return False
        try:
            stdin = driver_input(device, node=self.node, action=action)
        except OptionsError as error:
            self._refused(device, action, level, str(error))
            return False
        budget = device.spec.timeout.seconds if self.device_timeout is None else self.device_timeout
        ends = time.monotonic() + budget
        if self.give_up_at is not None:
            ends = min(ends, self.give_up_at)
        if ends <= time.monotonic():
            self._refused(device, action, level, "no time left: its timeout or the total ran out")
            return False
        for number in range(1, self.retries + 2):
            remaining = ends - time.monotonic()
            if remaining <= 0:
                break
            attempt = await self._run(path, device, action, level, number, stdin, remaining)
            if attempt.succeeded:
                return True
            if attempt.exit_code is None or attempt.timed_out:
                break
            if number <= self.retries and ends - time.monotonic() > self.retry_delay:
                await asyncio.sleep(self.retry_delay)
        return False

    async def _run(
        self,
        path: Path,
        device: FenceDevice,
        action: DriverAction,
        level: int,
        number: int,
        stdin: DriverInput,
        timeout: float,  # noqa: ASYNC109 - passed on to the driver's process group
    ) -> Attempt:
        started = self.clock()
        try:
            run = await run_driver([str(path)], stdin.text.encode(), env=self.env, timeout=timeout)
        except OSError as exc:
            message = f"cannot run {path}: {exc.strerror or exc}"
            return self._record(device, action, level, number, started=started, error=message)
        error = None
        if run.timed_out:
            error = f"timed out after {timeout:.1f}s; its process group was killed"
        elif run.exit_code is None:
            error = "did not die after SIGKILL"
        attempt = Attempt(
            device=device.metadata.name,
            driver=device.spec.driver,
            level=level,
            action=action,
            number=number,
            succeeded=run.exit_code == 0 and not run.timed_out,
            exit_code=run.exit_code,
            timed_out=run.timed_out,
            error=error,
            stdout=_tail(run.stdout, stdin.secrets, cut=run.truncated),
            stderr=_tail(run.stderr, stdin.secrets, cut=run.truncated),
            started=started,
            duration=run.duration,
        )
        self._log(attempt)
        self.attempts.append(attempt)
        return attempt

    def _refused(self, device: FenceDevice, action: DriverAction, level: int, why: str) -> None:
        self._record(device, action, level, 1, started=self.clock(), error=why)

    def _record(
        self,
        device: FenceDevice,
        action: DriverAction,
        level: int,
        number: int,
        *,
        started: datetime,
        error: str,
    ) -> Attempt:
        attempt = Attempt(
            device=device.metadata.name,
            driver=device.spec.driver,
            level=level,
            action=action,
            number=number,
            succeeded=False,
            exit_code=None,
            timed_out=False,
            error=error,
            stdout="",
            stderr="",
            started=started,
            duration=0.0,
        )
        self._log(attempt)
        self.attempts.append(attempt)
        return attempt

    def _log(self, attempt: Attempt) -> None:
        fields = {
            "node": self.node,
            "device": attempt.device,
            "driver": attempt.driver,
            "level": attempt.level,
            "action": attempt.action,
            "attempt": attempt.number,
            "exit_code": attempt.exit_code,
            "duration": round(attempt.duration, 3),
        }
        if attempt.succeeded:
            # What the driver says it did is the evidence behind a fencing record.
            log.info("fence.attempt_succeeded", **fields, stdout=attempt.stdout[-500:])
        else:
            log.warning(
                "fence.attempt_failed",
                **fields,
                error=attempt.error,
                stderr=attempt.stderr[-500:],
                stdout=attempt.stdout[-500:],
            )


def _failure_reason(node: str, levels: list[Level], attempts: list[Attempt]) -> str:
    if not levels:
        return f"no FenceDevice can fence {node}"
    if not attempts:
        return "out of time before any device ran"
    tried = len({a.level for a in attempts})
    last = next((a for a in reversed(attempts) if a.action != "on"), attempts[-1])
    why = last.error or f"exit code {last.exit_code}"
    return (
        f"{tried} of {len(levels)} levels tried, none fenced {node};"
        f" last: {last.device} ({last.action}): {why}"
    )


async def fence_node(
    node: str,
    devices: Iterable[FenceDevice],
    *,
    cluster: str,
    action: FenceAction = "reboot",
    device_timeout: float | None = None,
    total_timeout: float | None = None,
    retries: int = DEFAULT_RETRIES,
    retry_delay: float = RETRY_DELAY,
    locate: Locate = find_fence_driver,
    clock: Clock = utc_now,
) -> FenceOutcome:
    """Fence `node` with the devices that list it; the outcome says whether it worked.

    `device_timeout` replaces every device's own timeout; `total_timeout` bounds the whole
    fencing (no level starts after it, and a running driver is cut to it). Drivers are found
    by `locate` (hactl's `fence/`, then PATH) and run with HACTL_CLUSTER=`cluster`.
    """
    started = clock()
    levels = levels_for(node, devices)
    give_up_at = None if total_timeout is None else time.monotonic() + total_timeout
    fencing = _Fencing(
        node,
        cluster=cluster,
        device_timeout=device_timeout,
        give_up_at=give_up_at,
        retries=max(retries, 0),
        retry_delay=retry_delay,
        locate=locate,
        clock=clock,
    )
    log.info("fence.started", node=node, action=action, levels=[lv.names for lv in levels])
    fenced: Level | None = None
    for level in levels:
        if fencing.out_of_time():
            break
        if await fencing.level(level, action):
            fenced = level
            break
    if fenced is not None:
        reason = f"fenced by level {fenced.number}: {', '.join(fenced.names)}"
        log.info("fence.succeeded", node=node, action=action, level=fenced.number)
    else:
        reason = _failure_reason(node, levels, fencing.attempts)
        log.error("fence.failed", node=node, action=action, reason=reason)
    return FenceOutcome(
        node=node,
        cluster=cluster,
        action=action,
        succeeded=fenced is not None,
        level=fenced.number if fenced else None,
        devices=fenced.names if fenced else (),
        attempts=tuple(fencing.attempts),
        started=started,
        finished=clock(),
        reason=reason,
    )
