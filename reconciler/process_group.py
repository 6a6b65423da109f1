"""Running one child process in its own session: bounded output, and a timeout that kills it all.

Resource agents (reconciler/ocf/runner.py) and fence drivers (reconciler/fencing/driver.py)
run through here. The child is exec'd from an argv list (never a shell) in a new session
(setsid), so it and everything it forks share one process group that a timeout kills as
a whole: SIGTERM first (agents and drivers such as fence_meatware clean up on it), SIGKILL
after `kill_grace`. A cancelled caller (a leader that lost its lease) kills the group at once.

What the child leaves behind when it exits normally depends on what it is: the daemons a
resource agent's `start` put in the background must survive it (`kill_leftovers=False`);
a fence driver's work is done when it exits, so whatever it left in its group is killed
then (`kill_leftovers=True`).

stdin is /dev/null, or `stdin` bytes written to a pipe without blocking and then closed
(drivers read their options until end of file): a child that never reads cannot stall
hactl, and one that exits early just ends the write. Output is read from pipes into
bounded buffers until the child exits, not until the pipes close: a daemon that
inherited them would otherwise keep the run going forever. What is in the pipes at the
exit is kept; the pipes are then closed, so a background process that keeps writing to
them gets EPIPE.

The exit is awaited on a pidfd: no thread, no SIGCHLD handler shared with the rest of
the process, and the child stays unreaped (its pid, which is the group id, reserved)
while hactl signals its group.

subprocess.Popen starts the child with vfork: nothing here (no preexec_fn) forces a
full fork, and close_fds uses close_range.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

REAP_WAIT = 5.0
"""Seconds to wait for a SIGKILLed child before reaping it in the background instead."""
_GROUP_POLL = 0.02
_background: set[asyncio.Task[None]] = set()


@dataclass(frozen=True, slots=True)
class Outcome:
    """How one child ended and what it printed (raw: a caller redacts before showing it)."""

    pid: int
    exit_code: int | None
    """The exit status; negative: killed by that signal; None: not reaped in time."""
    timed_out: bool
    stdout: bytes
    stderr: bytes
    truncated: bool
    """Some output went beyond the output limit and was dropped."""
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
        asyncio.get_running_loop().add_reader(fd, self.drain)

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
            room = max(self.limit - len(self.data), 0)
            self.data += chunk[:room]
            self.truncated |= len(chunk) > room

    def close(self) -> None:
        if self.open:
            self.open = False
            asyncio.get_running_loop().remove_reader(self.fd)
            os.close(self.fd)


class _Feeder:
    """The child's stdin: written without blocking, then closed."""

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
            except BrokenPipeError:  # the child closed stdin or exited: it has what it read
                break
            self.rest = self.rest[written:]
        self.close()

    def close(self) -> None:
        if self.open:
            self.open = False
            if self.waiting:
                asyncio.get_running_loop().remove_writer(self.fd)
            os.close(self.fd)


async def run_in_session(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - kills the process group, not a cancellation
    output_limit: int,
    kill_grace: float,
    kill_leftovers: bool,
    stdin: bytes | None = None,
    cwd: str = "/",
) -> Outcome:
    """Run argv in a new session, `stdin` on its standard input (None: /dev/null).

    OSError if it cannot be executed (missing, not executable, bad interpreter).
    On timeout — or if the caller is cancelled — the whole process group is killed.
    """
    loop = asyncio.get_running_loop()
    in_r, in_w = os.pipe() if stdin is not None else (subprocess.DEVNULL, -1)
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    try:
        # Popen returns once exec has happened (milliseconds); asyncio's own subprocess
        # support makes the same call, but waits on the exit with a thread per child.
        proc = subprocess.Popen(  # noqa: ASYNC220
            list(argv),
            stdin=in_r,
            stdout=out_w,
            stderr=err_w,
            env=dict(env),
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    except BaseException:
        _close(in_w, out_r, err_r)
        raise
    finally:
        _close(in_r if stdin is not None else -1, out_w, err_w)
    started = time.monotonic()
    try:
        pidfd = os.pidfd_open(proc.pid)
    except OSError as exc:  # Linux < 5.3: refuse rather than leave an unwatched child
        _signal_group(proc.pid, signal.SIGKILL)
        proc.wait()  # SIGKILLed a moment ago: returns at once
        _close(in_w, out_r, err_r)
        raise RuntimeError(f"pidfd_open: {exc.strerror} (hactl needs Linux 5.3 or later)") from exc
    captures = (_Capture(out_r, output_limit), _Capture(err_r, output_limit))
    feeder = _Feeder(in_w, stdin) if stdin is not None else None
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
            if kill_leftovers:  # the group is SIGKILLed below in any case
                await asyncio.wait({exited}, timeout=kill_grace)
            elif not await _group_gone(proc, exited, kill_grace):
                _signal_group(proc.pid, signal.SIGKILL)
                await asyncio.wait({exited}, timeout=REAP_WAIT)
        if kill_leftovers:
            _signal_group(proc.pid, signal.SIGKILL)  # the unreaped leader keeps the group id ours
            await asyncio.wait({exited}, timeout=REAP_WAIT)
    except BaseException:  # cancelled: the child must not outlive its caller
        _signal_group(proc.pid, signal.SIGKILL)
        raise
    finally:
        duration = time.monotonic() - started
        if feeder is not None:
            feeder.close()
        for capture in captures:
            capture.drain()
            capture.close()
        _finish(proc, pidfd, exited)
    return Outcome(
        pid=proc.pid,
        exit_code=proc.returncode,
        timed_out=timed_out,
        stdout=bytes(captures[0].data),
        stderr=bytes(captures[1].data),
        truncated=captures[0].truncated or captures[1].truncated,
        duration=duration,
    )


def _close(*fds: int) -> None:
    for fd in fds:
        if fd >= 0:
            os.close(fd)


def _signal_group(pgid: int, sig: int) -> bool:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


async def _group_gone(
    proc: subprocess.Popen[bytes], exited: asyncio.Future[None], grace: float
) -> bool:
    """Whether the SIGTERMed group is gone within `grace` seconds.

    The leader is reaped as soon as it exits (a zombie still counts as a member), and
    its pid stays reserved until then, so the group id cannot name someone else's group.
    """
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if exited.done() and proc.returncode is None:
            proc.wait()
        if proc.returncode is not None and not _signal_group(proc.pid, 0):
            return True
        await asyncio.sleep(_GROUP_POLL)
    return False


def _finish(proc: subprocess.Popen[bytes], pidfd: int, exited: asyncio.Future[None]) -> None:
    """Reap the child now if it has exited, else whenever it does (uninterruptible sleep)."""
    loop = asyncio.get_running_loop()
    if exited.done():
        loop.remove_reader(pidfd)
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
