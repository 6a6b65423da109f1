"""Running one agent process: its own session, bounded output, and a timeout that kills it all.

Each action starts in a new session (setsid), so it and everything it forks share one
process group that a timeout can kill as a whole — an agent that hangs in a child
(`sleep`, a stuck `ip` command) leaves nothing behind. A normal exit kills nothing:
daemons that a `start` put in the background must survive it.

Output is read from pipes into bounded buffers until the agent exits, not until the
pipes close: a daemon that inherited them would otherwise keep the action "running"
forever. What is in the pipes when the agent exits is kept; the pipes are then
closed, so a background process that keeps writing to them gets EPIPE (agents are
expected to point their daemons' output elsewhere, as Pacemaker expects too).

The exit is awaited on a pidfd: no thread, no SIGCHLD handler shared with the rest of
the process, and the child stays unreaped (its pid reserved) until hactl has finished
signalling its group.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

OUTPUT_LIMIT = 256 * 1024
"""Bytes kept per stream; large enough for any agent's meta-data, small enough for a log."""
KILL_GRACE = 1.0
"""Seconds between SIGTERM and SIGKILL of a timed-out action's process group."""
REAP_WAIT = 5.0
"""Seconds to wait for a SIGKILLed agent before reaping it in the background instead."""
_GROUP_POLL = 0.02
_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True)
class Outcome:
    """How one process ended and what it printed."""

    pid: int
    returncode: int | None
    """The exit status; negative: killed by that signal; None: timed out and not yet reaped."""
    timed_out: bool
    stdout: bytes
    stderr: bytes
    truncated: bool
    """Some output went beyond OUTPUT_LIMIT and was dropped."""
    duration: float


class _Capture:
    """One pipe's read end, drained without blocking into a bounded buffer."""

    def __init__(self, fd: int, limit: int) -> None:
        os.set_blocking(fd, False)
        self.fd = fd
        self.limit = limit
        self.data = bytearray()
        self.truncated = False
        self.open = True

    def drain(self) -> None:
        """Read what the pipe holds now; close it at end of file."""
        while self.open:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            if not chunk:
                self.close()
                return
            room = self.limit - len(self.data)
            self.data += chunk[: max(room, 0)]
            self.truncated |= len(chunk) > room

    def close(self) -> None:
        if self.open:
            self.open = False
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)


async def run_in_session(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - kills the process group, not a cancellation
    cwd: str = "/",
    output_limit: int = OUTPUT_LIMIT,
    kill_grace: float = KILL_GRACE,
) -> Outcome:
    """Run argv (no shell) in a new session with stdin from /dev/null.

    OSError if it cannot be executed (missing, not executable, bad interpreter).
    On timeout — or if the caller is cancelled — the whole process group is killed.
    """
    loop = asyncio.get_running_loop()
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        # Popen returns once exec has happened (milliseconds); asyncio's own subprocess
        # support makes the same call, but waits on the exit with a thread per child.
        proc = subprocess.Popen(  # noqa: ASYNC220
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out_w,
            stderr=err_w,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        for fd in (out_r, err_r):
            os.close(fd)
        raise
    finally:
        os.close(out_w)
        os.close(err_w)
    started = time.monotonic()
    captures = [_Capture(out_r, output_limit), _Capture(err_r, output_limit)]
    for capture in captures:
        loop.add_reader(capture.fd, capture.drain)
    try:
        pidfd = os.pidfd_open(proc.pid)
    except OSError as exc:  # Linux < 5.3: refuse rather than leave an unwatched agent
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()
        for capture in captures:
            capture.close()
        raise RuntimeError(f"pidfd_open: {exc.strerror} (hactl needs Linux 5.3 or later)") from exc
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
            await _kill_group(proc, exited, kill_grace)
    except BaseException:  # cancelled: the action must not outlive its caller
        _signal_group(proc.pid, signal.SIGKILL)
        _reap_in_background(proc, pidfd, exited)
        pidfd = -1
        raise
    finally:
        duration = time.monotonic() - started
        for capture in captures:
            capture.drain()
            capture.close()
        if pidfd >= 0:
            loop.remove_reader(pidfd)
            if exited.done():
                proc.wait()
                os.close(pidfd)
            else:  # SIGKILLed but not dead yet (uninterruptible sleep)
                _reap_in_background(proc, pidfd, exited)
    return Outcome(
        pid=proc.pid,
        returncode=proc.returncode,
        timed_out=timed_out,
        stdout=bytes(captures[0].data),
        stderr=bytes(captures[1].data),
        truncated=captures[0].truncated or captures[1].truncated,
        duration=duration,
    )


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


async def _kill_group(
    proc: subprocess.Popen[bytes], exited: asyncio.Future[None], grace: float
) -> None:
    """SIGTERM the group, give it `grace` seconds to go, then SIGKILL whatever is left.

    The leader is reaped as soon as it exits (a zombie still counts as a member), and
    its pid stays reserved until then, so the group id cannot name someone else's group.
    """
    _signal_group(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if exited.done() and proc.returncode is None:
            proc.wait()
        if proc.returncode is not None and not _signal_group(proc.pid, 0):
            return
        await asyncio.sleep(_GROUP_POLL)
    _signal_group(proc.pid, signal.SIGKILL)
    await asyncio.wait({exited}, timeout=REAP_WAIT)


def _reap_in_background(
    proc: subprocess.Popen[bytes], pidfd: int, exited: asyncio.Future[None]
) -> None:
    """Reap a killed agent whenever it finally dies, without making the caller wait."""

    async def reap() -> None:
        try:
            await exited
            proc.wait()
        finally:
            asyncio.get_running_loop().remove_reader(pidfd)
            os.close(pidfd)

    task = asyncio.get_running_loop().create_task(reap())
    _background.add(task)
    task.add_done_callback(_background.discard)
