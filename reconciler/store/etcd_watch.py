"""Watches on etcd that outlive member failures without missing or repeating an event.

A watch is one gRPC stream to the member in use. Whatever ends the stream — the member
died or restarted, lost its leader (etcd ends `hasleader` streams then), a dead link
found by gRPC keepalive, a graceful shutdown — the watch opens a new stream, on the next
endpoint if the old one is the problem, from the revision after the last event it
delivered. Revisions are cluster-wide, so resuming on another member neither skips
nor repeats anything. etcd never splits one revision's events across responses, and
a stream can only fail between responses, so "last delivered + 1" is exact.

Re-opening is bounded by the store's deadline (then StoreUnavailable); a watch whose
next revision was compacted meanwhile raises Compacted, and its consumer re-lists.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator
from typing import Any

import structlog

from reconciler.store.base import Compacted, StoreError, StoreUnavailable, WatchEvent
from reconciler.store.etcd_codec import event, key_range
from reconciler.store.etcd_conn import Attempt, EtcdConnection, Retryable, StoreAccessDenied
from reconciler.store.etcd_grpc import grpc, rpc

__all__ = ["watch"]

log = structlog.get_logger(__name__)


async def watch(
    conn: EtcdConnection, prefix: str, *, start_revision: int
) -> AsyncIterator[WatchEvent]:
    """Every change under `prefix` from `start_revision` on; see the module docstring."""
    key, end = key_range(prefix)
    next_revision = start_revision
    while True:
        stream, endpoint = await conn.call(
            functools.partial(_open, key=key, end=end, start=next_revision),
            what=f"watch of {prefix!r}",
            idempotent=True,
        )
        try:
            while True:
                response = await _read(conn, stream, endpoint)
                if response is None:
                    log.info(
                        "store.etcd.watch_resuming", prefix=prefix, next_revision=next_revision
                    )
                    break
                _check(response, next_revision)
                for message in response.events:
                    change = event(message)
                    yield change
                    next_revision = change.revision + 1
        finally:
            stream.cancel()


async def _open(attempt: Attempt, *, key: bytes, end: bytes, start: int) -> tuple[Any, int]:
    """A watch stream whose creation etcd confirmed, and the endpoint it is on."""
    stream = attempt.stubs.watch.Watch(metadata=attempt.metadata)
    try:
        # etcd reads start_revision 0 as "from now"; the contract means it literally.
        create = rpc.WatchCreateRequest(key=key, range_end=end, start_revision=max(start, 1))
        await stream.write(rpc.WatchRequest(create_request=create))
        try:
            created = await asyncio.wait_for(stream.read(), attempt.timeout)
        except TimeoutError:
            raise Retryable("the member did not confirm the watch in time") from None
        if created is grpc.aio.EOF:
            raise Retryable("the member closed the watch stream")
        _check(created, start)
    except BaseException:
        stream.cancel()
        raise
    return stream, attempt.endpoint


async def _read(conn: EtcdConnection, stream: Any, endpoint: int) -> Any:
    """The next response of `stream`, or None when the watch should resume elsewhere."""
    try:
        response = await stream.read()
    except grpc.aio.AioRpcError as exc:
        error = conn.failure(exc, endpoint, what="watch", idempotent=True)
        if isinstance(error, Retryable):
            return None
        raise error from None
    except asyncio.CancelledError:
        task = asyncio.current_task()
        if conn.closed and task is not None and not task.cancelling():
            raise StoreUnavailable(f"store {conn.config.url} was closed") from None
        raise
    if response is grpc.aio.EOF:  # a member shutting down ends its streams this way
        conn.failover(endpoint)
        return None
    return response


def _check(response: Any, requested: int) -> None:
    """Raise what a response that ends the watch means."""
    if response.compact_revision:
        raise Compacted(requested, response.compact_revision)
    if response.canceled:
        reason = response.cancel_reason or "no reason given"
        if "permission denied" in reason:
            raise StoreAccessDenied(f"etcd denied the watch: {reason}")
        raise StoreError(f"etcd cancelled the watch: {reason}")
