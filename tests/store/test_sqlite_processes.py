"""Several real processes on one SQLite store file: what the embedded store is for.

Every process a test starts is killed by its PID when the test ends, however it ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

import reconciler.store.sqlite as sqlite_store
from reconciler.store import EventType, LeaseLost, SqliteStore, WatchEvent
from reconciler.store.sqlite_watch import WATCH_ENV

CHILD = Path(__file__).with_name("sqlite_child.py")
ROOT = Path(__file__).resolve().parents[2]
PROMPT = 20.0
"""Seconds a child gets to start up or to finish its work (a loaded two-core CI box)."""


@dataclass
class Child:
    process: asyncio.subprocess.Process
    stderr: Path

    async def read_line(self) -> str:
        """The child's next protocol line; its stderr in the failure message otherwise."""
        assert self.process.stdout is not None
        line = await asyncio.wait_for(self.process.stdout.readline(), PROMPT)
        if not line:
            code = await asyncio.wait_for(self.process.wait(), PROMPT)
            pytest.fail(f"child exited ({code}) without answering:\n{self.stderr.read_text()}")
        return line.decode()

    async def send(self, line: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line)
        await self.process.stdin.drain()


Spawn = Callable[..., Awaitable[Child]]


@pytest.fixture
async def spawn(tmp_path: Path) -> AsyncIterator[Spawn]:
    """Start `sqlite_child.py` with the given arguments; every child is killed at the end."""
    children: list[asyncio.subprocess.Process] = []

    async def start(*args: str) -> Child:
        stderr = tmp_path / f"child-{len(children)}.stderr"
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with stderr.open("wb") as sink:
            process = await asyncio.create_subprocess_exec(
                sys.executable, str(CHILD), *args,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=sink,
                env=env,
            )  # fmt: skip
        children.append(process)
        return Child(process, stderr)

    try:
        yield start
    finally:
        for process in children:
            if process.returncode is None:
                process.kill()  # SIGKILL to this child's PID
            await asyncio.wait_for(process.wait(), PROMPT)


class TestTwoProcesses:
    """Two processes writing and watching one file see one history: ordered, complete, no
    doubles, and their compare-and-set increments lose no update."""

    async def test_shared_history_and_no_lost_update(self, spawn: Spawn, tmp_path: Path) -> None:
        db, count = str(tmp_path / "store.db"), 25
        total = 2 * 2 * count  # two writers, each COUNT keys and COUNT counter increments
        children = [await spawn(db, "writer", name, str(count), str(total)) for name in "ab"]
        for child in children:
            assert await child.read_line() == "ready\n"
        for child in children:
            await child.send(b"go\n")
        reports = [json.loads(await child.read_line()) for child in children]

        histories = [[tuple(event) for event in report["events"]] for report in reports]
        assert histories[0] == histories[1], "the two processes saw different histories"
        history = histories[0]
        assert [event[0] for event in history] == list(range(1, total + 1))
        keys = {key for _, _, key, _ in history if key != "/w/counter"}
        assert keys == {f"/w/keys/{name}/{i}" for name in "ab" for i in range(count)}
        counter = [int(value) for _, _, key, value in history if key == "/w/counter"]
        assert counter == list(range(1, 2 * count + 1)), "an increment was lost or doubled"
        assert sum(report["conflicts"] for report in reports) > 0, "the writers never contended"

        store = SqliteStore(db)
        try:
            assert await store.revision() == total
            listed, _ = await store.range("/w/")
            assert len(listed) == 2 * count + 1
        finally:
            await store.close()
        for child in children:
            assert await asyncio.wait_for(child.process.wait(), PROMPT) == 0


class TestKilledHolder:
    """The keys of a lease whose holder is killed with SIGKILL vanish, with a DELETE event
    seen by another process, about one TTL later."""

    async def test_sigkill_expires_the_lease(self, spawn: Spawn, tmp_path: Path) -> None:
        db, ttl = tmp_path / "store.db", 0.8
        child = await spawn(str(db), "holder", str(ttl))
        ready = json.loads(await child.read_line())
        store = SqliteStore(db, poll_interval=0.01)
        events = store.watch("/m/", start_revision=ready["revision"] + 1)
        try:
            assert await store.get("/m/holder") is not None
            child.process.kill()
            loop = asyncio.get_running_loop()
            killed_at = loop.time()
            event = await asyncio.wait_for(anext(events), ttl + 1.0)
            waited = loop.time() - killed_at
            assert (event.type, event.key) == (EventType.DELETE, "/m/holder")
            assert waited <= ttl + 1.0
            with pytest.raises(LeaseLost):
                await store.refresh_lease(ready["lease"])
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            await store.close()


class TestChangeNotification:
    """Another process's commit reaches a watch through the change notification alone:
    with the safety poll and the stat polling pushed out to an hour, inotify must wake it;
    with HACTL_SQLITE_WATCH=poll, the stat polling must."""

    @pytest.mark.parametrize(("mode", "poll_interval"), [("inotify", 3600.0), ("poll", 0.01)])
    async def test_commit_of_another_process_wakes_the_watch(
        self,
        spawn: Spawn,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        mode: str,
        poll_interval: float,
    ) -> None:
        db = tmp_path / "store.db"
        monkeypatch.setattr(sqlite_store, "FULL_POLL_S", 3600.0)
        monkeypatch.setenv(WATCH_ENV, mode)
        store = SqliteStore(db, poll_interval=poll_interval)
        events = store.watch("/p/", start_revision=await store.revision() + 1)
        child = await spawn(str(db), "putter")
        waiting: asyncio.Future[WatchEvent] | None = None
        try:
            assert await child.read_line() == "ready\n"
            for key in ("/p/one", "/p/two"):
                waiting = asyncio.ensure_future(anext(events))
                # Not needed to pass, only to make the test strict: a commit made before
                # the watch's first read would be found by that read, without a wake-up.
                await asyncio.sleep(0.05)
                await child.send(key.encode() + b"\n")
                revision = int(await child.read_line())
                event = await asyncio.wait_for(waiting, PROMPT)
                assert (event.type, event.key, event.revision) == (EventType.PUT, key, revision)
        finally:
            if waiting is not None and not waiting.done():
                waiting.cancel()
                await asyncio.wait([waiting])
            await events.aclose()  # type: ignore[attr-defined]
            await store.close()
