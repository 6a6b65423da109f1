"""Agent building blocks run on every store backend of the store suite."""

from tests.store.conftest import backend, store, ttl

__all__ = ["backend", "store", "ttl"]
