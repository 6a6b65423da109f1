"""What the SQLite store promises beyond the contract: private files, durable settings,
several handles on one file, and leases that do not survive a reboot."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.store import EventType, SqliteStore, StoreError, StoreUnavailable
from reconciler.store.sqlite_watch import WATCH_ENV, InotifyWaker, StatWaker, open_waker

PROMPT = 5.0


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


class TestFiles:
    """A new store is private to its owner and durable; a foreign file is refused cleanly."""

    async def test_a_new_store_is_created_private(self, tmp_path: Path) -> None:
        path = tmp_path / "state" / "hactl" / "store.db"
        store = SqliteStore(path)
        try:
            await store.put("/k", b"")
            assert mode(path.parent) == 0o700
            assert mode(path) == 0o600
            assert mode(path.with_name("store.db-wal")) == 0o600
        finally:
            await store.close()

    async def test_wal_and_full_sync(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "store.db")
        try:
            await store.put("/k", b"")
            lease = await store.grant_lease(30)
            await store.refresh_lease(lease)  # skips the fsync, and only it
            sync = await store._run(lambda db: db._conn.execute("PRAGMA synchronous").fetchone())
            assert sync == (2,), "FULL after a lease refresh"
        finally:
            await store.close()
        with sqlite3.connect(tmp_path / "store.db") as db:
            assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)

    async def test_a_file_that_is_not_a_store_raises_a_store_error(self, tmp_path: Path) -> None:
        (tmp_path / "junk.db").write_bytes(b"not a database" * 100)
        store = SqliteStore(tmp_path / "junk.db")
        try:
            with pytest.raises(StoreError):
                await store.get("/k")
        finally:
            await store.close()

    async def test_an_unreachable_path_raises_store_unavailable(self, tmp_path: Path) -> None:
        (tmp_path / "file").write_text("")
        store = SqliteStore(tmp_path / "file" / "store.db")
        try:
            with pytest.raises(StoreUnavailable):
                await store.get("/k")
        finally:
            await store.close()


class TestHandles:
    """Two handles on one file (as two processes would be) see each other's changes."""

    async def test_a_watch_sees_another_handles_writes_and_expiries(self, tmp_path: Path) -> None:
        one = SqliteStore(tmp_path / "store.db", poll_interval=0.01)
        two = SqliteStore(tmp_path / "store.db", poll_interval=0.01)
        events = one.watch("/h/", start_revision=1)
        try:
            lease = await two.grant_lease(0.3)
            await two.put("/h/k", b"v", lease=lease)
            put = await asyncio.wait_for(anext(events), PROMPT)
            deleted = await asyncio.wait_for(anext(events), PROMPT)  # two never calls again
            assert (put.type, put.key, put.revision) == (EventType.PUT, "/h/k", 1)
            assert (deleted.type, deleted.key, deleted.revision) == (EventType.DELETE, "/h/k", 2)
        finally:
            await events.aclose()  # type: ignore[attr-defined]
            await one.close()
            await two.close()

    async def test_the_revision_survives_reopening(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "store.db")
        await store.put("/k", b"1")
        await store.put("/k", b"2")
        await store.close()
        store = SqliteStore(tmp_path / "store.db")
        try:
            kv = await store.get("/k")
            assert kv is not None and (kv.value, kv.version, kv.mod_revision) == (b"2", 2, 2)
            assert await store.put("/k", b"3") == 3
        finally:
            await store.close()


class TestBootId:
    """A lease written under another boot is expired: its deadline is on a dead clock."""

    async def test_a_lease_from_a_previous_boot_is_expired(self, tmp_path: Path) -> None:
        store = SqliteStore(tmp_path / "store.db")
        try:
            lease = await store.grant_lease(3600)
            await store.put("/node", b"", lease=lease)
            with sqlite3.connect(tmp_path / "store.db") as db:
                db.execute("UPDATE leases SET boot_id = 'an-earlier-boot'")
            assert await store.get("/node") is None
            assert await store.revision() == 2
        finally:
            await store.close()


class TestWatchMode:
    """HACTL_SQLITE_WATCH picks how watches learn of other processes' commits; a value it
    cannot be is a usage error, and a file inotify cannot watch falls back to polling."""

    def test_an_unknown_mode_is_a_usage_error(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv(WATCH_ENV, "fanotify")
        with pytest.raises(UsageError, match="HACTL_SQLITE_WATCH='fanotify': use inotify or poll"):
            SqliteStore(tmp_path / "store.db")

    def test_inotify_by_default_and_stat_polling_without_it(self, tmp_path: Path) -> None:
        path = tmp_path / "store.db"
        path.touch()
        wakers = [
            open_waker(path, mode="inotify", poll_interval=0.02),
            open_waker(path, mode="poll", poll_interval=0.02),
            open_waker(tmp_path / "missing.db", mode="inotify", poll_interval=0.02),
        ]
        try:
            assert [type(w) for w in wakers] == [InotifyWaker, StatWaker, StatWaker]
        finally:
            for waker in wakers:
                waker.close()
