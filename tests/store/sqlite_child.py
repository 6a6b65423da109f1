"""A second process for test_sqlite_processes.py: it opens the same SQLite store file.

    sqlite_child.py DB writer NAME COUNT TOTAL
        watch /w/ from revision 1; print "ready"; wait for a line on stdin; then COUNT
        times: put /w/keys/NAME/i and CAS-increment /w/counter; then wait until the
        watch has delivered TOTAL events and print them as one JSON line.
    sqlite_child.py DB holder TTL
        grant a lease, put /m/holder on it, print {"lease", "revision"} as JSON, then
        refresh the lease every TTL/5 until killed.
    sqlite_child.py DB putter
        print "ready"; then for each line KEY on stdin put KEY (value b"v") and print the
        revision, until end of input.

Logs go to stderr; stdout carries only the protocol lines.
"""

from __future__ import annotations

import asyncio
import json
import sys

import structlog

from reconciler.store import Compare, Put, SqliteStore, Store, WatchEvent

DEADLINE = 30.0


async def cas_increment(store: Store, key: str) -> int:
    """Increment `key` by compare-and-set; returns how many conflicts it re-observed."""
    conflicts = 0
    while True:
        kv = await store.get(key)
        value = int(kv.value) + 1 if kv else 1
        expected = kv.mod_revision if kv else 0
        await asyncio.sleep(0.003)  # widen the read-to-write window so the writers contend
        result = await store.txn([Compare.unchanged(key, expected)], [Put(key, b"%d" % value)])
        if result.succeeded:
            return conflicts
        conflicts += 1


async def writer(store: Store, name: str, count: int, total: int) -> None:
    seen: list[WatchEvent] = []
    done = asyncio.Event()

    async def watch() -> None:
        async for event in store.watch("/w/", start_revision=1):
            seen.append(event)
            if len(seen) == total:
                done.set()

    watching = asyncio.create_task(watch())
    print("ready", flush=True)
    await asyncio.to_thread(sys.stdin.readline)
    conflicts = 0
    for i in range(count):
        await store.put(f"/w/keys/{name}/{i}", f"{name}:{i}".encode())
        conflicts += await cas_increment(store, "/w/counter")
    await asyncio.wait_for(done.wait(), DEADLINE)
    watching.cancel()
    events = [[e.revision, e.type.value, e.key, e.value.decode()] for e in seen]
    print(json.dumps({"events": events, "conflicts": conflicts}), flush=True)


async def holder(store: Store, ttl: float) -> None:
    lease = await store.grant_lease(ttl)
    revision = await store.put("/m/holder", b"alive", lease=lease)
    print(json.dumps({"lease": lease, "revision": revision}), flush=True)
    while True:
        await asyncio.sleep(ttl / 5)
        await store.refresh_lease(lease)


async def putter(store: Store) -> None:
    print("ready", flush=True)
    while line := await asyncio.to_thread(sys.stdin.readline):
        print(await store.put(line.strip(), b"v"), flush=True)


async def main(path: str, role: str, *args: str) -> None:
    store = SqliteStore(path, poll_interval=0.01)
    try:
        if role == "writer":
            await writer(store, args[0], int(args[1]), int(args[2]))
        elif role == "putter":
            await putter(store)
        else:
            await holder(store, float(args[0]))
    finally:
        await store.close()


if __name__ == "__main__":
    structlog.configure(logger_factory=structlog.PrintLoggerFactory(sys.stderr))
    asyncio.run(main(*sys.argv[1:]))
