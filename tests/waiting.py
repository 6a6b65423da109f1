"""Waiting on conditions with deadlines: the only way tests wait (never sleep-and-hope)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_S = 0.01


async def eventually(
    condition: Callable[[], Awaitable[bool]], *, within: float, what: str = "condition"
) -> None:
    """Return as soon as `condition()` is true; fail the test after `within` seconds."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        await asyncio.sleep(POLL_S)


def wait_until(condition: Callable[[], bool], *, within: float, what: str = "condition") -> None:
    """The same for synchronous tests (for processes and files)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {within}s")
        time.sleep(POLL_S)
