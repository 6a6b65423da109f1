"""An agent that is done never hangs on closing its store connections."""

from __future__ import annotations

import asyncio
import time

import pytest

from reconciler.cli.runtime import closed_within
from reconciler.store.memory import MemoryStore

pytestmark = pytest.mark.timeout(10)


class HangingClose(MemoryStore):
    """A store whose connection never finishes closing (a peer that vanished)."""

    async def close(self) -> None:
        await asyncio.Event().wait()


def test_a_hanging_close_is_given_up_on_time() -> None:
    async def go() -> tuple[bool, float]:
        start = time.monotonic()
        result = await closed_within(0.2, MemoryStore(), HangingClose())
        return result, time.monotonic() - start

    result, took = asyncio.run(go())
    assert result is False
    assert took < 2.0


def test_stores_that_close_are_closed() -> None:
    assert asyncio.run(closed_within(5.0, MemoryStore(), MemoryStore())) is True
