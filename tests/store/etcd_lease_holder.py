"""A lease holder in its own process, for test_etcd_faults.py to kill with SIGKILL.

    etcd_lease_holder.py URL KEY TTL
        grant a lease of TTL seconds, put KEY on it, print {"lease", "revision"} as one
        JSON line, then refresh the lease every TTL/4 until killed.

Logs go to stderr; stdout carries only the protocol line.
"""

from __future__ import annotations

import asyncio
import json
import sys

from reconciler.store import open_store


async def hold(url: str, key: str, ttl: float) -> None:
    store = open_store(url)
    lease = await store.grant_lease(ttl)
    revision = await store.put(key, b"held", lease=lease)
    print(json.dumps({"lease": lease, "revision": revision}), flush=True)
    while True:
        await asyncio.sleep(ttl / 4)
        await store.refresh_lease(lease)


if __name__ == "__main__":
    asyncio.run(hold(sys.argv[1], sys.argv[2], float(sys.argv[3])))
