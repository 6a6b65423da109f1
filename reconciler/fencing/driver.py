"""Running one fence driver: options on stdin, its own session, nothing left behind.

The driver is exec'd from an argv list (never a shell) in a new session, so it and all it
forks share one process group. Its options are written to a pipe on its stdin, which is then
closed: drivers read until end of file. The write is non-blocking, so a driver that never
reads stdin cannot stall hactl, and one that exits early just ends the write.

A fence driver's work is done when it exits, so whatever it leaves in its group is killed
then (unlike a resource agent's `start`, whose daemons must survive). On timeout the group
gets SIGTERM — drivers such as fence_meatware clean up on it — and SIGKILL after a short
grace. The driver is awaited on a pidfd and reaped only after its group has been signalled,
so while hactl signals it the group id cannot belong to anyone else. A cancelled caller (a
leader that lost its lease) kills the group at once.

Output is read into bounded buffers until the driver exits, not until the pipes close, so a
stray process holding them cannot keep a fencing "running".
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OUTPUT_LIMIT = 64 * 1024
"""Bytes kept per stream: far more than any fence agent prints, little enough to hold."""
KILL_GRACE = 0.5
"""Seconds between SIGTERM and SIGKILL of a timed-out driver's process group."""
REAP_WAIT = 5.0
"""Seconds to wait for a SIGKILLed driver to die before reaping it in the background."""

_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class DriverRun:
    """How one driver run ended and what it printed (raw: redact before showing it)."""

    exit_code: int | None
    """Its exit status; negative: killed by that signal; None: not reaped in time."""
    timed_out: bool
    stdout: bytes
    stderr: bytes
    truncated: bool
    """Some output went beyond OUTPUT_LIMIT and was dropped."""
    duration: float


class _Capture:
    """One pipe's read end, drained without blocking into a bounded buffer."""

    def __init__(self, fd: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.data = bytearray()
        self.truncated = False
        self.open = True
        asyncio.get_running_loop().add_reader(fd, self.drain)

    def drain(self) -> None:
        while self.open:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self.close()
                return
            room = max(OUTPUT_LIMIT - len(self.data), 0)
            self.data += chunk[:room]
            self.truncated |= len(chunk) > room

    def close(self) -> None:
        if self.open:
            self.open = False
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)


class _Feeder:
    """The driver's stdin: written without blocking, then closed."""

    def __init__(self, fd: int, data: bytes) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.rest = memoryview(data)
        self.open = True
        self.waiting = False
        self.write()

    def write(self) -> None:
        while self.open and self.rest:
            try:
                written = os.write(self.fd, self.rest)
            except BlockingIOError:
                if not self.waiting:
                    asyncio.get_running_loop().add_writer(self.fd, self.write)
                    self.waiting = True
                return
            except BrokenPipeError:  # the driver closed stdin or exited: it has what it read
                break
            self.rest = self.rest[written:]
        self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            if self.waiting:
                asyncio.get_running_loop().remove_writer(self.fd)
            os.close(self.fd)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, sig)


async def run_driver(
    argv: Sequence[str],
    stdin: bytes,
    *,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - kills the process group, not a cancellation
) -> DriverRun:
    """Run a driver with `stdin` as its input; OSError if it cannot be executed."""
    loop = asyncio.get_running_loop()
    in_r, in_w = os.pipe()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        # Popen returns once exec has happened: milliseconds, not worth a thread.
        proc = subprocess.Popen(  # noqa: ASYNC220
            list(argv),
            stdin=in_r,
            stdout=out_w,
            stderr=err_w,
            env=dict(env),
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    finally:
        for fd in (in_r, out_w, err_w):
            os.close(fd)
    started = time.monotonic()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except OSError:  # no pidfds (Linux < 5.3): hactl cannot watch it, so it does not run it
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()  # SIGKILLed a moment ago: returns at once
        for fd in (in_w, out_r, err_r):
            os.close(fd)
        raise
    captures = (_Capture(out_r), _Capture(err_r))
    feeder = _Feeder(in_w, stdin)
    exited: asyncio.Future[None] = loop.create_future()

    def on_exit() -> None:  # a pidfd stays readable: stop watching at the first wake-up
        loop.remove_reader(pidfd)
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, on_exit)
    timed_out = False
    try:
        done, _ = await asyncio.wait({exited}, timeout=timeout)
        if not done:
            timed_out = True
            _signal_group(proc.pid, signal.SIGTERM)
            await asyncio.wait({exited}, timeout=KILL_GRACE)
        _signal_group(proc.pid, signal.SIGKILL)  # the unreaped leader keeps the group id ours
        await asyncio.wait({exited}, timeout=REAP_WAIT)
    except BaseException:  # cancelled: the driver must not outlive its caller
        _signal_group(proc.pid, signal.SIGKILL)
        raise
    finally:
        duration = time.monotonic() - started
        feeder.close()
        for capture in captures:
            capture.drain()
            capture.close()
        _finish(proc, pidfd, exited)
    return DriverRun(
        exit_code=proc.returncode,
        timed_out=timed_out,
        stdout=bytes(captures[0].data),
        stderr=bytes(captures[1].data),
        truncated=captures[0].truncated or captures[1].truncated,
        duration=duration,
    )


def _finish(proc: subprocess.Popen[bytes], pidfd: int, exited: asyncio.Future[None]) -> None:
    """Reap the driver now if it has exited, else whenever it does (uninterruptible sleep)."""
    loop = asyncio.get_running_loop()
    if exited.done():
        proc.wait()
        os.close(pidfd)
        return

    async def reap() -> None:
        try:
            await exited
            proc.wait()
        finally:
            loop.remove_reader(pidfd)
            os.close(pidfd)

    task = loop.create_task(reap())
    _background.add(task)
    task.add_done_callback(_background.discard)
