"""Fixtures of the store suites: `store` is a fresh, empty store of every backend in BACKENDS.

Adding a backend (etcd) is one entry in BACKENDS: an async context manager that opens a
fresh store with no keys (its revision need not be 0) and closes it, and a lease TTL
short enough for fast tests that the backend still honours.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.store import MemoryStore, SqliteStore, Store


@dataclass(frozen=True)
class Backend:
    open: Callable[[Path], AbstractAsyncContextManager[Store]]
    """Opens a fresh, empty store; given a private temporary directory."""
    short_ttl: float
    """A lease TTL short enough for fast tests that the backend still honours reliably."""


@asynccontextmanager
async def _memory(_: Path) -> AsyncIterator[Store]:
    store = MemoryStore()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def _sqlite(directory: Path) -> AsyncIterator[Store]:
    store = SqliteStore(directory / "store.db", poll_interval=0.01)
    try:
        yield store
    finally:
        await store.close()


BACKENDS: dict[str, Backend] = {
    "memory": Backend(_memory, short_ttl=0.3),
    "sqlite": Backend(_sqlite, short_ttl=0.3),
}


@pytest.fixture(params=list(BACKENDS))
def backend(request: pytest.FixtureRequest) -> Backend:
    return BACKENDS[request.param]


@pytest.fixture
async def store(backend: Backend, tmp_path: Path) -> AsyncIterator[Store]:
    async with backend.open(tmp_path) as opened:
        yield opened


@pytest.fixture
async def r0(store: Store) -> int:
    """The store's revision when the test starts: contract tests count revisions from it."""
    return await store.revision()


@pytest.fixture
def ttl(backend: Backend) -> float:
    return backend.short_ttl
