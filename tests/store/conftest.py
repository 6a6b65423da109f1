"""Fixtures of the store suites: `store` is a fresh, empty store of every backend in BACKENDS.

Adding a backend is one entry in BACKENDS: an async context manager that opens a
fresh store with no keys (its revision need not be 0) and closes it, and a lease TTL
short enough for fast tests that the backend still honours.

etcd runs as one real member shared by the whole session (tests/etcd_cluster.py), wiped
before each test: starting a member per test would cost 0.2 s each.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from reconciler.store import MemoryStore, SqliteStore, Store, open_store
from tests.etcd_cluster import require_etcd, shared_member, wipe


@dataclass(frozen=True)
class Backend:
    open: Callable[[Path], AbstractAsyncContextManager[Store]]
    """Opens a fresh, empty store; given a private temporary directory."""
    short_ttl: float
    """A lease TTL short enough for fast tests that the backend still honours reliably."""
    marks: tuple[pytest.MarkDecorator, ...] = ()


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


@asynccontextmanager
async def _etcd(_: Path) -> AsyncIterator[Store]:
    require_etcd()
    cluster = shared_member()
    await wipe(cluster)
    store = open_store(cluster.url())
    try:
        yield store
    finally:
        await store.close()


BACKENDS: dict[str, Backend] = {
    "memory": Backend(_memory, short_ttl=0.3),
    "sqlite": Backend(_sqlite, short_ttl=0.3),
    # etcd grants whole seconds, at least 1.5 election timeouts (100 ms here): 1 s.
    "etcd": Backend(_etcd, short_ttl=1.0, marks=(pytest.mark.etcd,)),
}


@pytest.fixture(params=[pytest.param(name, marks=b.marks) for name, b in BACKENDS.items()])
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
