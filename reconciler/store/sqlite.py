"""The embedded store (`sqlite:///path`): the etcd contract on one machine, many processes.

Every node agent of a one-machine cluster (`hactl demo`, small installs) opens the same
file. SQLite gives the atomic, durable transactions; this module adds what etcd adds on
top: a store-wide revision (`meta`), the change log watches read (`log`), and leases
(`leases`) that any process expires once they are due, so the keys of a process killed
with SIGKILL still vanish, with DELETE events, about one TTL later.

- Durability: WAL journal with synchronous=FULL, so an acknowledged write (an apply, a
  fencing record) survives power loss, not only a crash. Lease refreshes alone skip the
  fsync (see _Db.refresh): a power loss expires every lease anyway.
- Writers take the lock up front (`BEGIN IMMEDIATE`): a transaction never has to upgrade
  a read lock, which SQLite cannot wait for. Lock waits are bounded by `timeout`; past it
  the call raises StoreUnavailable.
- Watches learn of other processes' commits from `PRAGMA data_version` (it changes only
  when another connection commits), looked at when a commit is announced through inotify
  (or, without inotify, when the files' stat changed; see sqlite_watch.py), when a lease
  falls due, and at least every FULL_POLL_S; then they read the `log` rows after the last
  revision delivered.
- Lease deadlines are CLOCK_MONOTONIC (system-wide on Linux, immune to wall-clock jumps)
  plus the kernel's boot id: a deadline from another boot is meaningless, so its lease
  counts as expired. Processes sharing a store must share one kernel and time namespace.
- All SQLite calls run on one worker thread per store (one connection), never on the
  event loop, so a slow disk cannot stall a lease refresh timer.
- A new store's directory is created 0700 and its file 0600 (SQLite gives the -wal and
  -shm files the same mode); existing files are left as they are.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

import structlog
from tenacity import Retrying, retry_if_exception, stop_after_delay, wait_random_exponential

from reconciler.store.base import (
    Compacted,
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseLost,
    Put,
    StoreError,
    StoreStatus,
    StoreUnavailable,
    TxnResult,
    WatchEvent,
)
from reconciler.store.memory import check_writes
from reconciler.store.sqlite_watch import Waker, open_waker, watch_mode
from reconciler.store.sqlite_watch import announce as announce_commit

__all__ = ["SqliteStore"]

log = structlog.get_logger(__name__)
_T = TypeVar("_T")

_SCHEMA_VERSION = 1
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
    "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL,"
    " create_revision INTEGER NOT NULL, mod_revision INTEGER NOT NULL,"
    " version INTEGER NOT NULL, lease INTEGER NOT NULL DEFAULT 0)",
    "CREATE INDEX IF NOT EXISTS kv_lease ON kv (lease) WHERE lease != 0",
    "CREATE TABLE IF NOT EXISTS log (id INTEGER PRIMARY KEY, revision INTEGER NOT NULL,"
    " key TEXT NOT NULL, type TEXT NOT NULL CHECK (type IN ('put', 'delete')),"
    " value BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS log_revision ON log (revision)",
    "CREATE TABLE IF NOT EXISTS leases (id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " ttl REAL NOT NULL, deadline REAL NOT NULL, boot_id TEXT NOT NULL)",
)
_INIT_META = (
    "INSERT OR IGNORE INTO meta VALUES ('revision', 0), ('compact_revision', 0), ('schema', ?)"
)
_GET = "SELECT key, value, create_revision, mod_revision, version, lease FROM kv WHERE key = ?"
_RANGE = (
    "SELECT key, value, create_revision, mod_revision, version, lease FROM kv"
    " WHERE key >= ? AND key < ? ORDER BY key"
)
_UPSERT = (
    "INSERT INTO kv (key, value, create_revision, mod_revision, version, lease)"
    " VALUES (?, ?, ?, ?, 1, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value,"
    " mod_revision = excluded.mod_revision, version = kv.version + 1, lease = excluded.lease"
)
_LOG = (
    "SELECT revision, key, type, value FROM log WHERE revision BETWEEN ? AND ?"
    " AND key >= ? AND key < ? ORDER BY revision, id"
)
_DUE = "SELECT id FROM leases WHERE deadline <= ? OR boot_id != ? ORDER BY id"
_NEXT_DEADLINE = "SELECT min(deadline) FROM leases WHERE boot_id = ?"
_LEASE = "SELECT ttl, deadline, boot_id FROM leases WHERE id = ?"
_REFRESH = "UPDATE leases SET deadline = ? WHERE id = ?"
FULL_POLL_S = 1.0
"""A watching process looks into the database at least this often even when nothing woke
it (a safety net under the change notification, see _poll)."""
_LOG_WINDOW = 256
"""Revisions one watch read covers at most, so a far-behind watch reads in bounded steps."""


def _bounds(prefix: str) -> tuple[str, str | bytes]:
    """The key range [low, high) of `prefix`. Keys are TEXT compared as UTF-8 bytes, which
    orders them by code point exactly like Python's str; SQLite sorts every BLOB after
    every TEXT, so b'' is the upper bound when no string is."""
    stem = prefix.rstrip("\U0010ffff")
    if not stem:
        return prefix, b""
    after = ord(stem[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:  # surrogates are not valid UTF-8
        after = 0xE000
    return prefix, stem[:-1] + chr(after)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError as exc:
        raise StoreError(f"the sqlite store needs Linux's boot id: {exc}") from exc


def _create_private(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


def _is_busy(exc: BaseException) -> bool:
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return isinstance(exc, sqlite3.OperationalError) and code in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


class _Db:
    """The store's one connection; used only on its worker thread. Each public method
    is one transaction and first expires due leases (how expiry works across processes)."""

    def __init__(self, path: Path) -> None:
        self.boot_id = _boot_id()
        self.changes = 0
        """Revisions this connection committed; the event loop compares it to wake watches."""
        self._path = path
        _create_private(path)
        # SQLite's own busy handler sleeps up to 100 ms between tries, so a waiting writer
        # keeps losing the lock to writers arriving meanwhile (lease refreshes missed their
        # deadline under an apply of 1,000 resources): it is off, and SqliteStore's retry
        # polls for the lock every few milliseconds instead, until `timeout`.
        self._conn = sqlite3.connect(path, timeout=0.001, isolation_level=None)
        try:
            self._set_up()
        except BaseException:
            self._conn.close()
            raise
        self._data_version = self._pragma("data_version")
        self._polled_revision = self._meta("revision")

    def _set_up(self) -> None:
        if self._pragma("journal_mode=WAL") != "wal":
            raise StoreError("the store's filesystem does not support SQLite's WAL mode")
        self._conn.execute("PRAGMA synchronous=FULL")
        with self._write():
            for statement in _SCHEMA:
                self._conn.execute(statement)
            self._conn.execute(_INIT_META, (_SCHEMA_VERSION,))
            if (schema := self._meta("schema")) > _SCHEMA_VERSION:
                raise StoreError(f"store schema {schema} is newer than this hactl's")

    def close(self) -> None:
        self._conn.close()

    def get(self, key: str) -> KeyValue | None:
        self.expire_due()
        return self._get(key)

    def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        self.expire_due()
        with self._read():
            rows = self._conn.execute(_RANGE, _bounds(prefix)).fetchall()
            return [KeyValue(*row) for row in rows], self._meta("revision")

    def revision(self) -> int:
        self.expire_due()
        return self._meta("revision")

    def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Put | Delete],
        failure: Sequence[Put | Delete],
    ) -> TxnResult:
        with self._write():
            self._expire(time.monotonic())
            kvs = [self._get(compare.key) for compare in compares]
            succeeded = all(c.holds_for(kv) for c, kv in zip(compares, kvs, strict=True))
            ops = success if succeeded else failure
            lost = next((op.lease for op in ops if isinstance(op, Put) and not self._live(op)), 0)
            revision = self._meta("revision") if lost else self._apply(ops)
        if lost:  # raised after the commit, so the expiries above are kept
            raise LeaseLost(f"lease {lost} expired or was revoked")
        return TxnResult(succeeded, revision)

    def grant(self, ttl: float) -> int:
        with self._write(announce=True):  # its deadline may come before any other
            self._expire(time.monotonic())
            cursor = self._conn.execute(
                "INSERT INTO leases (ttl, deadline, boot_id) VALUES (?, ?, ?)",
                (ttl, time.monotonic() + ttl, self.boot_id),
            )
        assert cursor.lastrowid  # AUTOINCREMENT ids start at 1 and are never reused
        return cursor.lastrowid

    def refresh(self, lease: int) -> float:
        """Move the lease's deadline one TTL ahead; LeaseLost if it is due or gone.

        The only commit that does not wait for the disk (synchronous=NORMAL, which still
        loses nothing when a process crashes): after a power loss every lease is from
        another boot and so expired anyway, while a refresh that waits for an fsync can
        miss its deadline on a busy disk. Expiries stay FULL, like every revision."""
        self.expire_due()
        self._conn.execute("PRAGMA synchronous=NORMAL")
        try:
            with self._write():
                now = time.monotonic()
                row = self._conn.execute(_LEASE, (lease,)).fetchone()
                alive = row is not None and row[1] > now and row[2] == self.boot_id
                if alive:
                    self._conn.execute(_REFRESH, (now + row[0], lease))
        finally:
            self._conn.execute("PRAGMA synchronous=FULL")
        if not alive:
            self.expire_due()  # it fell due a moment ago: its keys go now, durably
            raise LeaseLost(f"lease {lease} expired or was revoked")
        return float(row[0])

    def revoke(self, lease: int) -> None:
        with self._write():
            self._expire(time.monotonic())
            self._end_leases([lease])

    def ttl(self, lease: int) -> float:
        self.expire_due()
        row = self._conn.execute("SELECT deadline FROM leases WHERE id = ?", (lease,)).fetchone()
        if row is None:
            raise LeaseLost(f"lease {lease} expired or was revoked")
        return max(0.0, float(row[0]) - time.monotonic())

    def compact(self, revision: int) -> None:
        with self._write():
            self._expire(time.monotonic())
            if revision > (current := self._meta("revision")):
                raise StoreError(f"cannot compact to revision {revision}: store is at {current}")
            if revision > self._meta("compact_revision"):
                self._conn.execute("DELETE FROM log WHERE revision < ?", (revision,))
                self._set_meta("compact_revision", revision)

    def counts(self) -> dict[str, int]:
        self.expire_due()
        with self._read():
            return {
                "revision": self._meta("revision"),
                "compact_revision": self._meta("compact_revision"),
                "keys": self._conn.execute("SELECT count(*) FROM kv").fetchone()[0],
                "leases": self._conn.execute("SELECT count(*) FROM leases").fetchone()[0],
            }

    def log_since(self, prefix: str, start: int) -> tuple[list[WatchEvent], int, bool]:
        """Events under `prefix` from revision `start` on, in one bounded read: the
        events, the next revision to read from, and whether that is the newest one."""
        self.expire_due()
        with self._read():
            compact, current = self._meta("compact_revision"), self._meta("revision")
            if start < compact:
                raise Compacted(start, compact)
            upto = min(current, start + _LOG_WINDOW - 1)
            rows = self._conn.execute(_LOG, (start, upto, *_bounds(prefix))).fetchall()
        events = [WatchEvent(EventType(kind), key, value, rev) for rev, key, kind, value in rows]
        return events, max(start, upto + 1), upto >= current

    def poll(self) -> tuple[bool, float | None]:
        """Whether another process committed a new revision since the last poll, and the
        monotonic deadline of the next lease to expire (None: no lease)."""
        self.expire_due()
        row = self._conn.execute(_NEXT_DEADLINE, (self.boot_id,)).fetchone()
        next_deadline = float(row[0]) if row and row[0] is not None else None
        version = self._pragma("data_version")
        if version == self._data_version:
            return False, next_deadline
        self._data_version = version
        revision = self._meta("revision")
        changed, self._polled_revision = revision != self._polled_revision, revision
        return changed, next_deadline

    def expire_due(self) -> None:
        """Expire due leases, taking the write lock only when there are any."""
        if self._conn.execute(_DUE, (time.monotonic(), self.boot_id)).fetchone():
            with self._write():
                self._expire(time.monotonic())

    def _expire(self, now: float) -> None:
        due = [row[0] for row in self._conn.execute(_DUE, (now, self.boot_id))]
        if due:
            keys = self._end_leases(due)
            log.info("store.lease.expired", backend="sqlite", leases=due, keys=keys)

    def _end_leases(self, leases: list[int]) -> int:
        """Delete the leases and their keys (at one new revision); returns the key count."""
        keys = sorted(
            row[0]
            for lease in leases
            for row in self._conn.execute("SELECT key FROM kv WHERE lease = ?", (lease,))
        )
        self._apply([Delete(key) for key in keys])
        self._conn.executemany("DELETE FROM leases WHERE id = ?", [(lease,) for lease in leases])
        return len(keys)

    def _apply(self, ops: Sequence[Put | Delete]) -> int:
        """Apply `ops` at one new revision; returns the store's revision afterwards."""
        revision = self._meta("revision") + 1
        changed = False
        for op in ops:
            if isinstance(op, Put):
                self._conn.execute(_UPSERT, (op.key, op.value, revision, revision, op.lease))
                self._log(revision, "put", [(op.key, op.value)])
                changed = True
            else:
                keys = self._matching(op)
                self._conn.executemany("DELETE FROM kv WHERE key = ?", [(key,) for key in keys])
                self._log(revision, "delete", [(key, b"") for key in keys])
                changed = changed or bool(keys)
        if not changed:
            return revision - 1
        self._set_meta("revision", revision)
        self.changes += 1
        return revision

    def _matching(self, op: Delete) -> list[str]:
        if op.prefix:
            query = "SELECT key FROM kv WHERE key >= ? AND key < ? ORDER BY key"
            return [row[0] for row in self._conn.execute(query, _bounds(op.key))]
        return [op.key] if self._get(op.key) else []

    def _log(self, revision: int, kind: str, changes: list[tuple[str, bytes]]) -> None:
        self._conn.executemany(
            "INSERT INTO log (revision, key, type, value) VALUES (?, ?, ?, ?)",
            [(revision, key, kind, value) for key, value in changes],
        )

    def _live(self, op: Put) -> bool:
        """Whether the put's lease (if any) exists; due ones were expired before."""
        query = "SELECT 1 FROM leases WHERE id = ?"
        return not op.lease or self._conn.execute(query, (op.lease,)).fetchone() is not None

    def _get(self, key: str) -> KeyValue | None:
        row = self._conn.execute(_GET, (key,)).fetchone()
        return KeyValue(*row) if row else None

    def _meta(self, name: str) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return int(row[0])

    def _set_meta(self, name: str, value: int) -> None:
        self._conn.execute("UPDATE meta SET value = ? WHERE name = ?", (value, name))

    def _pragma(self, name: str) -> object:
        return self._conn.execute(f"PRAGMA {name}").fetchone()[0]

    @contextlib.contextmanager
    def _write(self, *, announce: bool = False) -> Iterator[None]:
        """Take the write lock up front: waiting for it is all a writer ever waits for.
        Once committed, a new revision (or `announce`) is announced to other processes'
        watches; a refresh is not: it only moves a deadline later."""
        before = self.changes
        with self._transaction("BEGIN IMMEDIATE"):
            yield
        if announce or self.changes != before:
            announce_commit(self._path)

    def _read(self) -> contextlib.AbstractContextManager[None]:
        """One snapshot for several statements (say, rows and the revision they are at)."""
        return self._transaction("BEGIN")

    @contextlib.contextmanager
    def _transaction(self, begin: str) -> Iterator[None]:
        self._conn.execute(begin)
        try:
            yield
            self._conn.execute("COMMIT")
        except BaseException:
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise


class SqliteStore:
    """The store in one SQLite file, shared by every process that opens it.

    `poll_interval`: where inotify is unavailable (or HACTL_SQLITE_WATCH=poll), seconds
    between a watching process's checks of the files for other processes' commits; it
    bounds how late a watch sees them. `timeout`: how long one call may wait for the
    file's write lock before raising StoreUnavailable."""

    def __init__(
        self, path: str | os.PathLike[str], *, poll_interval: float = 0.02, timeout: float = 5.0
    ) -> None:
        self._path = Path(path).absolute()
        self._poll_interval = poll_interval
        self._watch_mode = watch_mode()
        self._timeout = timeout
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="hactl-sqlite")
        self._retrying = Retrying(  # used on the worker thread only, so one is enough
            stop=stop_after_delay(timeout),
            wait=wait_random_exponential(multiplier=0.001, max=0.005),
            retry=retry_if_exception(_is_busy),
            reraise=True,
        )
        self._db: _Db | None = None  # opened, used and closed on the worker thread only
        self._seen_changes = 0
        self._changed = asyncio.Event()
        self._watchers = 0
        self._poller: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def path(self) -> Path:
        return self._path

    async def get(self, key: str) -> KeyValue | None:
        return await self._run(lambda db: db.get(key))

    async def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        return await self._run(lambda db: db.range(prefix))

    async def revision(self) -> int:
        return await self._run(lambda db: db.revision())

    async def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Put | Delete],
        failure: Sequence[Put | Delete] = (),
    ) -> TxnResult:
        check_writes(success)
        check_writes(failure)
        # Copies: the caller may reuse its lists while the worker thread reads them.
        taken = (tuple(compares), tuple(success), tuple(failure))
        return await self._run(lambda db: db.txn(*taken))

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> int:
        return (await self.txn((), (Put(key, value, lease),))).revision

    async def delete(self, key: str, *, prefix: bool = False) -> int:
        return (await self.txn((), (Delete(key, prefix),))).revision

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchEvent]:
        return self._watch(prefix, start_revision)

    async def grant_lease(self, ttl: float) -> int:
        if ttl <= 0:
            raise ValueError(f"a lease needs a positive TTL, not {ttl}")
        return await self._run(lambda db: db.grant(ttl))

    async def refresh_lease(self, lease: int) -> float:
        return await self._run(lambda db: db.refresh(lease))

    async def revoke_lease(self, lease: int) -> None:
        await self._run(lambda db: db.revoke(lease))

    async def lease_ttl(self, lease: int) -> float:
        return await self._run(lambda db: db.ttl(lease))

    async def compact(self, revision: int) -> None:
        await self._run(lambda db: db.compact(revision))

    async def status(self) -> StoreStatus:
        counts = await self._run(lambda db: db.counts())
        details = {name: str(value) for name, value in counts.items() if name != "revision"}
        details["file"] = str(self._path)
        details["size"] = str(self._size())
        return StoreStatus(
            backend="sqlite",
            endpoint=f"sqlite://{self._path}",
            revision=counts["revision"],
            details=details,
        )

    def _size(self) -> int:
        """Bytes on disk: the database and its write-ahead log (not yet checkpointed)."""
        paths = (self._path, self._path.with_name(self._path.name + "-wal"))
        return sum(path.stat().st_size for path in paths if path.exists())

    async def close(self) -> None:
        """Stop polling, end every watch (they raise StoreUnavailable), close the file."""
        if self._closed:
            return
        self._closed = True
        self._notify()
        if self._poller:
            self._poller.cancel()
            await asyncio.wait([self._poller])
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close_db)
        self._executor.shutdown(wait=False)

    async def _watch(self, prefix: str, next_revision: int) -> AsyncIterator[WatchEvent]:
        self._watchers += 1
        if self._poller is None or self._poller.done():
            self._poller = asyncio.create_task(self._poll(), name=f"hactl-sqlite-poll {self._path}")
        try:
            while True:
                changed = self._changed  # taken before reading, so no commit is missed
                events, next_revision, caught_up = await self._read_log(prefix, next_revision)
                for event in events:
                    yield event
                if caught_up and not events:
                    await changed.wait()
        finally:
            self._watchers -= 1

    async def _read_log(self, prefix: str, start: int) -> tuple[list[WatchEvent], int, bool]:
        return await self._run(lambda db: db.log_since(prefix, start))

    async def _poll(self) -> None:
        """While anything watches: notice other processes' commits and expire due leases.

        It looks into the database (a hop to the worker thread and a few queries) when
        its waker says a commit was announced (or the files changed), when the next lease
        falls due, and at least every FULL_POLL_S. An idle node agent so wakes about once
        a second instead of every `poll_interval`."""
        waker: Waker | None = None
        try:
            while self._watchers and not self._closed:
                try:
                    if waker is None:  # once the file exists: the worker thread creates it
                        waker = await self._run(lambda _: self._open_waker())
                    waker.arm()  # before the look, so a commit after it wakes the next one
                    changed, next_deadline = await self._run(lambda db: db.poll())
                except Exception:  # a poller that died would stall every watch without a word
                    log.exception("store.poll_failed", backend="sqlite", path=str(self._path))
                    self._notify()  # the watches' own reads then raise if the store stays broken
                    await asyncio.sleep(self._poll_interval)
                    continue
                if changed:
                    self._notify()
                timeout = FULL_POLL_S
                if next_deadline is not None:
                    timeout = min(timeout, max(0.0, next_deadline - time.monotonic()))
                await waker.wait(timeout)
        finally:
            if waker is not None:
                waker.close()

    def _open_waker(self) -> Waker:
        return open_waker(self._path, mode=self._watch_mode, poll_interval=self._poll_interval)

    async def _run(self, call: Callable[[_Db], _T]) -> _T:
        """Run `call` on the worker thread; wake the watches if it committed a revision."""
        if self._closed:
            raise StoreUnavailable(f"store {self._path} is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._executor, self._call, call)
        finally:
            changes = self._db.changes if self._db else 0
            if changes != self._seen_changes:
                self._seen_changes = changes
                self._notify()

    def _call(self, call: Callable[[_Db], _T]) -> _T:
        """On the worker thread: retry lock conflicts SQLite's own wait did not absorb,
        until `timeout`; map SQLite's errors to the store's."""
        try:
            return self._retrying(lambda: call(self._open_db()))
        except (sqlite3.OperationalError, OSError) as exc:
            raise StoreUnavailable(f"sqlite store {self._path}: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {self._path}: {exc}") from exc

    def _open_db(self) -> _Db:
        if self._db is None:
            self._db = _Db(self._path)
            log.debug("store.opened", backend="sqlite", path=str(self._path))
        return self._db

    def _close_db(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    def _notify(self) -> None:
        """Wake every watch waiting for a change."""
        self._changed.set()
        self._changed = asyncio.Event()
