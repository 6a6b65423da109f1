"""Store URLs: the one string (`--store`, `HACTL_STORE`) that says which store to use.

- `memory://` is a fresh, empty store each time it is opened; `memory://NAME` is the
  store of that name in this process, shared by every opener until it is closed (for
  tests and simulations that open one store by URL several times).
- `sqlite://PATH` is the SQLite file at PATH: `sqlite:///var/lib/hactl/store.db` is
  absolute, `sqlite://store.db` is relative to the working directory at open time.
  (SQLAlchemy spells relative paths with three slashes; hactl keeps the path verbatim.)
- `etcd://host:2379,host:2379?timeout=5s` is a real etcd cluster: its endpoints, tried
  in order, and the deadline of every call; TLS and authentication come from the CLI's
  `--cacert/--cert/--key/--user` (see `etcd_config`), which only etcd URLs accept.
  The etcd backend (gRPC) is imported only when such a URL is opened, so commands on
  the embedded store do not pay for it.
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


def open_store(
    url: str,
    *,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
) -> Store:
    """The store `url` names; raises UsageError, in one line, for a URL it cannot use.

    `cacert`, `cert`, `key` (TLS files) and `user` (whose password comes from `env`,
    default os.environ: HACTL_STORE_PASSWORD_FILE or HACTL_STORE_PASSWORD) are for etcd.
    Opening reads those local files but does no network I/O: an unreachable store shows
    at the first call."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise UsageError(f"store URL {url!r} has no scheme; use {_EXAMPLES}")
    if scheme == "etcd":
        from reconciler.store.etcd import EtcdStore
        from reconciler.store.etcd_config import etcd_config

        return EtcdStore(etcd_config(rest, cacert=cacert, cert=cert, key=key, user=user, env=env))
    given = [
        name
        for name, value in (("cacert", cacert), ("cert", cert), ("key", key), ("user", user))
        if value is not None
    ]
    if given:
        raise UsageError(f"--{given[0]} is for etcd:// stores; {url!r} is not one")
    match scheme:
        case "memory":
            return _memory_store(rest, url)
        case "sqlite":
            return SqliteStore(_sqlite_path(rest, url))
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
