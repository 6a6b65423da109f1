"""Store URLs: the one string (`--store`, `HACTL_STORE`) that says which store to use.

- `memory://` is a fresh, empty store each time it is opened; `memory://NAME` is the
  store of that name in this process, shared by every opener until it is closed (for
  tests and simulations that open one store by URL several times).
- `sqlite://PATH` is the SQLite file at PATH: `sqlite:///var/lib/hactl/store.db` is
  absolute, `sqlite://store.db` is relative to the working directory at open time.
  (SQLAlchemy spells relative paths with three slashes; hactl keeps the path verbatim.)
- `etcd://host:2379,host:2379` is a real etcd cluster (not available yet).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from reconciler.errors import UsageError
from reconciler.store.base import Store
from reconciler.store.memory import MemoryStore
from reconciler.store.sqlite import SqliteStore

__all__ = ["default_store_url", "open_store"]

_EXAMPLES = "sqlite:///path/store.db, memory:// or etcd://host:2379"
_named_memory_stores: dict[str, MemoryStore] = {}


def open_store(url: str) -> Store:
    """The store `url` names; raises UsageError, in one line, for a URL it cannot use.

    Opening does no I/O: an unreachable store shows at the first call."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise UsageError(f"store URL {url!r} has no scheme; use {_EXAMPLES}")
    match scheme:
        case "memory":
            return _memory_store(rest, url)
        case "sqlite":
            return SqliteStore(_sqlite_path(rest, url))
        case "etcd":
            raise UsageError("etcd backend not available yet")
        case _:
            raise UsageError(f"store URL {url!r} has an unknown scheme; use {_EXAMPLES}")


def default_store_url(env: Mapping[str, str] | None = None, *, euid: int | None = None) -> str:
    """`$HACTL_STORE`, else the embedded store's default file: `/var/lib/hactl/store.db`
    for root, `$XDG_STATE_HOME/hactl/store.db` (`~/.local/state/…`) for anyone else."""
    env = os.environ if env is None else env
    if url := env.get("HACTL_STORE"):
        return url
    if (os.geteuid() if euid is None else euid) == 0:
        return "sqlite:///var/lib/hactl/store.db"
    state = env.get("XDG_STATE_HOME", "")
    if not os.path.isabs(state):  # the XDG spec says to ignore relative values
        state = os.path.join(env.get("HOME") or str(Path.home()), ".local", "state")
    return f"sqlite://{os.path.join(state, 'hactl', 'store.db')}"


def _memory_store(name: str, url: str) -> MemoryStore:
    if not name:
        return MemoryStore()
    if "/" in name or "?" in name:
        raise UsageError(f"store URL {url!r}: a memory store name is one word, as in memory://demo")
    store = _named_memory_stores.get(name)
    if store is None or store.closed:
        store = _named_memory_stores[name] = MemoryStore(name=name)
    return store


def _sqlite_path(path: str, url: str) -> Path:
    if not path:
        raise UsageError(f"store URL {url!r} has no path; use sqlite:///path/store.db")
    if "?" in path or "#" in path:
        raise UsageError(f"store URL {url!r}: sqlite URLs take no options")
    return Path(path).absolute()
