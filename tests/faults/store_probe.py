"""Read or watch store keys from a process of its own, for tests whose store is reachable
only inside a network namespace (run it there with `ip netns exec`).

    python -m tests.faults.store_probe get URL KEY        the value on stdout (nothing: absent)
    python -m tests.faults.store_probe watch URL PREFIX   `ready`, then per change:
                                                          `<monotonic ns> <put|delete> <key>`

Times are this process's time.monotonic_ns(): the same clock as the test's (a network
namespace does not change clocks). The watch runs until the process is killed.
"""

from __future__ import annotations

import asyncio
import sys
import time

from reconciler.store.url import open_store


async def get(url: str, key: str) -> None:
    store = open_store(url)
    try:
        found = await store.get(key)
    finally:
        await store.close()
    if found is not None:
        sys.stdout.buffer.write(found.value)


async def watch(url: str, prefix: str) -> None:
    store = open_store(url)
    try:
        revision = (await store.range(prefix))[1]
        changes = store.watch(prefix, start_revision=revision + 1)
        print("ready", flush=True)
        async for change in changes:
            print(f"{time.monotonic_ns()} {change.type.value} {change.key}", flush=True)
    finally:
        await store.close()


def main(argv: list[str]) -> int:
    if len(argv) != 3 or argv[0] not in ("get", "watch"):
        print(__doc__, file=sys.stderr)
        return 2
    command, url, key = argv
    asyncio.run(get(url, key) if command == "get" else watch(url, key))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
