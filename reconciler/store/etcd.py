"""The etcd store (`etcd://host:port,…`): the contract on a real, replicated cluster.

Revisions, transactions, watches and leases are etcd's own, so this module mostly
translates (`etcd_codec`) and leaves the network to `etcd_conn` (deadlines, retries,
failover, TLS, auth) and watches to `etcd_watch`. Where etcd differs from the contract,
the contract wins:

- A fresh etcd is at revision 1, not 0; nothing counts on 0 (the contract suite counts
  from the revision a test starts at).
- Lease TTLs are whole seconds with a floor (about 1.5 election timeouts). A TTL is
  rounded up, never down: a lease that outlives its holder's own deadline is safe, one
  that expires before it is not. `refresh_lease` returns what etcd granted.
- Lease ids are chosen here (random, never 0), so a grant retried after an ambiguous
  failure finds its own lease instead of leaving an orphan.
- `compact` to a revision already compacted is a no-op, as in the other backends.
- `range` has no size limit: it reads in pages, all at the first page's revision.
- etcd limits a transaction to 128 operations by default (`--max-txn-ops`); hactl's
  writes stay far below (docs/architecture.md); a larger one fails with StoreError.
"""

from __future__ import annotations

import contextlib
import math
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import structlog

from reconciler.store.base import (
    Compare,
    Delete,
    KeyValue,
    LeaseLost,
    Put,
    StoreError,
    StoreStatus,
    TxnResult,
    WatchEvent,
)
from reconciler.store.etcd_codec import key_range, key_value, txn_request, txn_succeeded
from reconciler.store.etcd_config import EtcdConfig
from reconciler.store.etcd_conn import Attempt, EtcdConnection, Retryable, RevisionCompacted
from reconciler.store.etcd_grpc import grpc, rpc
from reconciler.store.etcd_watch import watch
from reconciler.store.memory import check_writes

__all__ = ["EtcdStore"]

log = structlog.get_logger(__name__)

_PAGE = 256
"""Keys per range request: bounds one response (values may be up to etcd's 1.5 MiB)."""


class EtcdStore:
    """The store on an etcd v3 cluster; see the module docstring."""

    def __init__(self, config: EtcdConfig) -> None:
        self._conn = EtcdConnection(config)

    @property
    def config(self) -> EtcdConfig:
        return self._conn.config

    @property
    def endpoint(self) -> str:
        """The endpoint in use (it changes when its member fails)."""
        return self._conn.endpoint

    async def get(self, key: str) -> KeyValue | None:
        request = rpc.RangeRequest(key=key.encode())
        reply = await self._idempotent(
            lambda a: a.stubs.kv.Range(request, **_opts(a)), f"get {key!r}"
        )
        return key_value(reply.kvs[0]) if reply.kvs else None

    async def range(self, prefix: str) -> tuple[list[KeyValue], int]:
        start, end = key_range(prefix)

        async def pages(attempt: Attempt) -> tuple[list[KeyValue], int]:
            listed: list[KeyValue] = []
            revision, key = 0, start
            while True:
                request = rpc.RangeRequest(key=key, range_end=end, limit=_PAGE, revision=revision)
                try:
                    reply = await attempt.stubs.kv.Range(request, **_opts(attempt))
                except grpc.aio.AioRpcError as exc:
                    if revision and exc.code() == grpc.StatusCode.OUT_OF_RANGE:
                        raise Retryable("compacted while listing; listing again") from None
                    raise
                revision = revision or reply.header.revision
                listed.extend(key_value(kv) for kv in reply.kvs)
                if not reply.more:
                    return listed, revision
                key = bytes(reply.kvs[-1].key) + b"\0"

        result: tuple[list[KeyValue], int] = await self._idempotent(pages, f"range {prefix!r}")
        return result

    async def revision(self) -> int:
        # An empty transaction is a linearizable read that names no key, so it needs no
        # permission: a user limited to hactl's prefix may still ask for the revision.
        request = rpc.TxnRequest()
        reply = await self._idempotent(lambda a: a.stubs.kv.Txn(request, **_opts(a)), "revision")
        return int(reply.header.revision)

    async def txn(
        self,
        compares: Sequence[Compare],
        success: Sequence[Put | Delete],
        failure: Sequence[Put | Delete] = (),
    ) -> TxnResult:
        check_writes(success)
        check_writes(failure)
        request = txn_request(compares, success, failure)
        reply = await self._write(lambda a: a.stubs.kv.Txn(request, **_opts(a)), "transaction")
        return TxnResult(txn_succeeded(compares, reply), int(reply.header.revision))

    async def put(self, key: str, value: bytes, *, lease: int = 0) -> int:
        check_writes([Put(key, value, lease)])
        request = rpc.PutRequest(key=key.encode(), value=value, lease=lease)
        reply = await self._write(lambda a: a.stubs.kv.Put(request, **_opts(a)), f"put {key!r}")
        return int(reply.header.revision)

    async def delete(self, key: str, *, prefix: bool = False) -> int:
        check_writes([Delete(key, prefix)])
        start, end = key_range(key) if prefix else (key.encode(), b"")
        request = rpc.DeleteRangeRequest(key=start, range_end=end)
        reply = await self._write(
            lambda a: a.stubs.kv.DeleteRange(request, **_opts(a)), f"delete {key!r}"
        )
        return int(reply.header.revision)

    def watch(self, prefix: str, *, start_revision: int) -> AsyncIterator[WatchEvent]:
        return watch(self._conn, prefix, start_revision=start_revision)

    async def grant_lease(self, ttl: float) -> int:
        if ttl <= 0:
            raise ValueError(f"a lease needs a positive TTL, not {ttl}")
        seconds, lease = math.ceil(ttl), secrets.randbits(62) + 1
        tries = 0

        async def grant(attempt: Attempt) -> int:
            nonlocal tries
            tries += 1
            request = rpc.LeaseGrantRequest(TTL=seconds, ID=lease)
            try:
                reply = await attempt.stubs.lease.LeaseGrant(request, **_opts(attempt))
            except grpc.aio.AioRpcError as exc:
                if tries > 1 and "lease already exists" in (exc.details() or ""):
                    return seconds  # granted by an earlier try whose reply was lost
                raise
            if reply.error:
                raise StoreError(f"etcd refused a lease: {reply.error}")
            return int(reply.TTL)

        granted = await self._conn.call(grant, what="lease grant", idempotent=True)
        if granted > ttl:
            log.debug("store.etcd.lease_ttl_raised", lease=lease, asked=ttl, granted=granted)
        return lease

    async def refresh_lease(self, lease: int) -> float:
        async def keepalive(attempt: Attempt) -> int:
            stream = attempt.stubs.lease.LeaseKeepAlive(**_opts(attempt))
            try:
                await stream.write(rpc.LeaseKeepAliveRequest(ID=lease))
                reply = await stream.read()
            finally:
                stream.cancel()
            if reply is grpc.aio.EOF:
                raise Retryable("the member closed the keepalive stream")
            return int(reply.TTL)

        ttl = await self._conn.call(keepalive, what=f"refresh of lease {lease}", idempotent=True)
        if ttl <= 0:
            raise LeaseLost(f"lease {lease} expired or was revoked")
        return float(ttl)

    async def revoke_lease(self, lease: int) -> None:
        request = rpc.LeaseRevokeRequest(ID=lease)
        with contextlib.suppress(LeaseLost):  # revoking a lost lease is not an error
            await self._idempotent(
                lambda a: a.stubs.lease.LeaseRevoke(request, **_opts(a)),
                f"revocation of lease {lease}",
            )

    async def lease_ttl(self, lease: int) -> float:
        request = rpc.LeaseTimeToLiveRequest(ID=lease)
        reply = await self._idempotent(
            lambda a: a.stubs.lease.LeaseTimeToLive(request, **_opts(a)), f"TTL of lease {lease}"
        )
        if reply.TTL < 0:
            raise LeaseLost(f"lease {lease} expired or was revoked")
        return float(reply.TTL)

    async def compact(self, revision: int) -> None:
        request = rpc.CompactionRequest(revision=revision)
        with contextlib.suppress(RevisionCompacted):  # compacted that far already
            await self._idempotent(lambda a: a.stubs.kv.Compact(request, **_opts(a)), "compaction")

    async def status(self) -> StoreStatus:
        async def ask(attempt: Attempt) -> tuple[Any, Any, str]:
            status = await attempt.stubs.maintenance.Status(rpc.StatusRequest(), **_opts(attempt))
            listed = await attempt.stubs.cluster.MemberList(
                rpc.MemberListRequest(), **_opts(attempt)
            )
            return status, listed, self.config.endpoints[attempt.endpoint]

        status, listed, endpoint = await self._conn.call(ask, what="status", idempotent=True)
        names = {member.ID: member.name for member in listed.members}
        members = [
            {
                "name": member.name,
                "id": f"{member.ID:x}",
                "peer_urls": ",".join(member.peerURLs),
                "client_urls": ",".join(member.clientURLs),
                "learner": str(member.isLearner).lower(),
            }
            for member in sorted(listed.members, key=lambda member: member.name)
        ]
        return StoreStatus(
            backend="etcd",
            endpoint=endpoint,
            revision=int(status.header.revision),
            members=members,
            leader=names.get(status.leader, f"{status.leader:x}") if status.leader else None,
            details={
                "version": status.version,
                "db_size": str(status.dbSize),
                "raft_term": str(status.raftTerm),
                "raft_index": str(status.raftIndex),
                "answered_by": names.get(status.header.member_id, ""),
                "endpoints": ",".join(self.config.endpoints),
                "timeout": f"{self.config.timeout:g}s",
                "tls": str(self.config.tls).lower(),
                "user": self.config.user or "",
            },
        )

    async def close(self) -> None:
        """Close the channels: calls in flight and every watch end with StoreUnavailable."""
        await self._conn.close()

    async def _idempotent(self, request: Any, what: str) -> Any:
        """An idempotent call (reads, lease upkeep, compaction): retried on any transport error."""
        return await self._conn.call(request, what=what, idempotent=True)

    async def _write(self, request: Any, what: str) -> Any:
        """A write: retried only when etcd or gRPC prove it was not applied."""
        return await self._conn.call(request, what=what, idempotent=False)


def _opts(attempt: Attempt) -> dict[str, Any]:
    """The keyword arguments of every gRPC request of an attempt."""
    return {"timeout": attempt.timeout, "metadata": attempt.metadata}
