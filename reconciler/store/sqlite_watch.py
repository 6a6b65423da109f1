"""How a watching process of the embedded store learns that another process committed.

SQLite tells a connection nothing about other connections' commits, so the store's
poller must look. Looking costs a hop to the store's worker thread and a few queries,
so it looks only when woken:

- `InotifyWaker` (the default): every write transaction that committed a new revision
  or granted a lease ends by touching the database file's times (`announce`), after
  its COMMIT returned. The touch raises an inotify IN_ATTRIB event on the file, so the
  poller wakes once per such commit and always finds it visible. (A commit's own writes
  to the WAL come before its wal-index update: woken by those, a reader could look too
  early and miss it.) Lease refreshes are not announced: they only move a deadline
  later, and the poller learns them at the deadline it already waits for.
- `StatWaker` (the fallback, where inotify is unavailable or HACTL_SQLITE_WATCH=poll):
  every `poll_interval` it compares the stat of the database and its WAL, which change
  with every commit.

Either way the poller also looks at least every FULL_POLL_S (sqlite.py), a safety net
for a writer that did not announce.

inotify is reached through ctypes, three libc calls: the wrappers on PyPI add an event
parser hactl does not need (it only drains the queue) and would need type stubs.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import time
from pathlib import Path
from typing import Protocol

import structlog

from reconciler.errors import UsageError

__all__ = ["WATCH_ENV", "Waker", "announce", "open_waker", "watch_mode"]

log = structlog.get_logger(__name__)

WATCH_ENV = "HACTL_SQLITE_WATCH"
"""`inotify` (the default: inotify where available, else stat polling) or `poll`."""
_IN_NONBLOCK = os.O_NONBLOCK
_IN_CLOEXEC = os.O_CLOEXEC
_IN_ATTRIB = 0x00000004


class Waker(Protocol):
    def arm(self) -> None:
        """Forget what woke it so far: `wait` returns only for changes made after this."""

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a poll period
        """Return when the store may have changed since `arm`, or after `timeout` seconds."""

    def close(self) -> None: ...


def watch_mode() -> str:
    """The mode HACTL_SQLITE_WATCH asks for; UsageError for a value it cannot be."""
    mode = os.environ.get(WATCH_ENV, "inotify") or "inotify"
    if mode not in ("inotify", "poll"):
        raise UsageError(f"{WATCH_ENV}={mode!r}: use inotify or poll")
    return mode


def announce(path: Path) -> None:
    """Tell the store's inotify watchers that a commit is visible (after its COMMIT)."""
    with contextlib.suppress(OSError):  # they still see it at their next full poll
        os.utime(path)


def open_waker(path: Path, *, mode: str, poll_interval: float) -> Waker:
    """An inotify waker on the database file `path` (which must exist) unless `mode` is
    `poll` or inotify is unavailable; then a stat waker."""
    if mode == "inotify":
        try:
            return InotifyWaker(path)
        except OSError as exc:
            log.info("store.watch.polling", backend="sqlite", path=str(path), reason=str(exc))
    return StatWaker(path, poll_interval)


class InotifyWaker:
    """Readable when the database file's attributes changed: an announced commit."""

    def __init__(self, path: Path) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add_watch = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError) as exc:
            raise OSError(f"no inotify in this libc: {exc}") from exc
        fd = int(init(_IN_NONBLOCK | _IN_CLOEXEC))
        if fd < 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"inotify_init1: {os.strerror(errno)}")
        watch = int(add_watch(fd, os.fsencode(path), ctypes.c_uint32(_IN_ATTRIB)))
        if watch < 0:
            errno = ctypes.get_errno()
            os.close(fd)
            raise OSError(errno, f"inotify_add_watch {path}: {os.strerror(errno)}")
        self._fd = fd

    def arm(self) -> None:
        with contextlib.suppress(BlockingIOError):
            while os.read(self._fd, 4096):
                pass

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a poll period
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()

        def readable() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(self._fd, readable)
        try:
            await asyncio.wait({ready}, timeout=timeout)
        finally:
            loop.remove_reader(self._fd)
            ready.cancel()

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class StatWaker:
    """Compares the (mtime, size, inode) of the database and its WAL every interval."""

    def __init__(self, path: Path, interval: float) -> None:
        self._paths = (path, path.with_name(path.name + "-wal"))
        self._interval = interval
        self._seen = self._fingerprint()

    def arm(self) -> None:
        self._seen = self._fingerprint()

    async def wait(self, timeout: float) -> None:  # noqa: ASYNC109 - a poll period
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await asyncio.sleep(min(self._interval, max(0.0, deadline - time.monotonic())))
            if self._fingerprint() != self._seen:
                return

    def close(self) -> None:
        pass

    def _fingerprint(self) -> tuple[tuple[int, int, int], ...]:
        found = []
        for path in self._paths:
            try:
                st = path.stat()
            except OSError:
                found.append((0, 0, 0))
            else:
                found.append((st.st_mtime_ns, st.st_size, st.st_ino))
        return tuple(found)
