"""The store: one etcd-shaped interface (`base`), its backends, and URLs that pick one."""

from reconciler.store.base import (
    Compacted,
    Compare,
    Delete,
    EventType,
    KeyValue,
    LeaseLost,
    Put,
    Store,
    StoreError,
    StoreStatus,
    StoreUnavailable,
    TxnResult,
    WatchEvent,
)
from reconciler.store.memory import MemoryStore
from reconciler.store.sqlite import SqliteStore
from reconciler.store.url import default_store_url, open_store

__all__ = [
    "Compacted",
    "Compare",
    "Delete",
    "EventType",
    "KeyValue",
    "LeaseLost",
    "MemoryStore",
    "Put",
    "SqliteStore",
    "Store",
    "StoreError",
    "StoreStatus",
    "StoreUnavailable",
    "TxnResult",
    "WatchEvent",
    "default_store_url",
    "open_store",
]
