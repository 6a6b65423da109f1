"""The etcd edge: gRPC channels, failover between endpoints, deadlines, retries, errors.

Every etcd call of the store goes through `EtcdConnection.call`, the one place that
knows gRPC. It holds the store's promises about the network:

- **A deadline on every call.** Retries included, a call takes at most the configured
  timeout; past it the store raises StoreUnavailable (exit code 3).
- **Bounded retries (tenacity), never a blind write.** A failure that proves the request
  was not applied (no connection, the member has no leader, a stale auth token, etcd
  shedding load) is retried, on the next endpoint when the member in use is the problem.
  Reads, lease refreshes and revocations are idempotent and retried after any
  transport failure. A put, delete or transaction whose fate is unknown (the member died
  mid-request) is not retried: the caller gets StoreUnavailable saying it may have been
  applied, and re-observes — retrying could apply it twice.
- **Failover.** One channel per endpoint; the one in use changes when its member cannot
  be reached or has lost its leader. Requests carry etcd's `hasleader` requirement, so a
  member cut off from the quorum refuses them (and ends its watches) instead of hanging.
- **gRPC keepalive** pings open streams, so a watch on a member behind a dead link
  notices within about `keepalive_time + keepalive_timeout`. etcd's server refuses
  clients that ping more often than every 5 s (`--grpc-keepalive-min-time`).
- **Short reconnect backoff**, so a restarted member is used again within a second,
  and a connection attempt to a silent (black-holed) address gives up after about a
  second, leaving time to try the next endpoint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    wait_random_exponential,
)

from reconciler.store.base import LeaseLost, StoreError, StoreUnavailable
from reconciler.store.etcd_config import EtcdConfig
from reconciler.store.etcd_grpc import grpc, rpc

__all__ = [
    "Attempt",
    "EtcdConnection",
    "Retryable",
    "RevisionCompacted",
    "StoreAccessDenied",
    "Stubs",
]

log = structlog.get_logger(__name__)
_T = TypeVar("_T")

_MIN_ATTEMPT = 0.05
"""Seconds an attempt needs at least; with less left, the call gives up instead."""
_UNSENT = (
    "failed to connect to all addresses",  # gRPC: no connection, nothing was sent
    "etcdserver: no leader",  # refused up front (hasleader)
    "etcdserver: not capable",
    "etcdserver: too many requests",  # refused before proposing
    "etcdserver: invalid auth token",  # refused before applying
    "raft proposal dropped",
)
"""etcd and gRPC failures that prove the request was not applied: safe to retry writes."""
_CHANNEL_OPTIONS = (
    ("grpc.keepalive_time_ms", 5000),
    ("grpc.keepalive_timeout_ms", 2000),
    ("grpc.keepalive_permit_without_calls", 0),
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 1000),
    ("grpc.max_reconnect_backoff_ms", 1000),
    ("grpc.max_receive_message_length", -1),
    ("grpc.max_send_message_length", -1),
)


class StoreAccessDenied(StoreError):
    """etcd refused the credentials, or the user lacks a permission: a configuration
    mistake of the operator's, not an outage (exit code 2)."""

    exit_code = 2


class RevisionCompacted(StoreError):
    """etcd no longer has the revision a request named (the caller decides what that means)."""


class Retryable(Exception):
    """An attempt failed in a way that allows another one, within the call's deadline;
    the message says why. Raised by requests themselves, too (a silent member)."""


@dataclass(frozen=True, slots=True)
class Stubs:
    """The etcd v3 services on one channel (aetcd's generated stubs)."""

    kv: Any
    lease: Any
    watch: Any
    cluster: Any
    maintenance: Any
    auth: Any

    @classmethod
    def on(cls, channel: grpc.aio.Channel) -> Stubs:
        return cls(
            rpc.KVStub(channel),
            rpc.LeaseStub(channel),
            rpc.WatchStub(channel),
            rpc.ClusterStub(channel),
            rpc.MaintenanceStub(channel),
            rpc.AuthStub(channel),
        )


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one try of a call gets: the stubs of the endpoint in use (its index in the
    configuration), the call's deadline, and the metadata every request must carry."""

    stubs: Stubs
    deadline: float
    """On the event loop's clock."""
    metadata: tuple[tuple[str, str], ...]
    endpoint: int

    @property
    def timeout(self) -> float:
        """Seconds left until the deadline: the timeout of the next gRPC request."""
        return self.deadline - asyncio.get_running_loop().time()


class EtcdConnection:
    """Channels to the configured endpoints and the call discipline above."""

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        self._index = 0
        self._stubs: dict[int, Stubs] = {}
        self._channels: list[grpc.aio.Channel] = []
        self._token: str | None = None
        self._auth_lock = asyncio.Lock()
        self.closed = False

    @property
    def endpoint(self) -> str:
        """The endpoint in use."""
        return self.config.endpoints[self._index]

    async def call(
        self, request: Callable[[Attempt], Awaitable[_T]], *, what: str, idempotent: bool
    ) -> _T:
        """`request` with the store's deadline, retries and error mapping; see the module."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.config.timeout

        def out_of_time(_: RetryCallState) -> bool:
            return deadline - loop.time() < _MIN_ATTEMPT

        backoff = wait_random_exponential(multiplier=0.05, max=0.5)

        def wait(state: RetryCallState) -> float:
            return max(0.0, min(backoff(state), deadline - loop.time() - _MIN_ATTEMPT))

        retrying = AsyncRetrying(
            stop=out_of_time, wait=wait, retry=retry_if_exception_type(Retryable), reraise=True
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(request, deadline, what, idempotent=idempotent)
        except Retryable as exc:
            raise StoreUnavailable(
                f"store {self.config.url} did not answer {what} within"
                f" {self.config.timeout:g}s ({exc})"
            ) from None
        raise AssertionError("tenacity neither returned nor raised")  # pragma: no cover

    def failure(
        self, exc: grpc.aio.AioRpcError, endpoint: int, *, what: str, idempotent: bool
    ) -> Exception:
        """The exception an etcd error stands for; `Retryable` when another attempt may follow.

        A transport failure or a member without a leader also moves the store to the
        next endpoint."""
        code = exc.code()
        details = exc.details() or str(code)
        where = self.config.endpoints[endpoint]
        if code == grpc.StatusCode.PERMISSION_DENIED:
            who = f"user {self.config.user!r}" if self.config.user else "this client"
            return StoreAccessDenied(f"etcd {where} denied {who} permission for {what} ({details})")
        if "invalid auth token" in details:
            self._token = None
        elif code == grpc.StatusCode.UNAUTHENTICATED or "authentication" in details:
            return StoreAccessDenied(f"etcd {where} refused the credentials: {details}")
        elif "user name is empty" in details:
            return StoreAccessDenied(f"etcd {where} requires authentication: use --user")
        if code == grpc.StatusCode.NOT_FOUND and "lease not found" in details:
            return LeaseLost("lease expired or was revoked")
        if code == grpc.StatusCode.OUT_OF_RANGE and "compacted" in details:
            return RevisionCompacted(details)
        unsent = any(marker in details for marker in _UNSENT)
        transport = code in (
            grpc.StatusCode.UNAVAILABLE,
            grpc.StatusCode.DEADLINE_EXCEEDED,
            grpc.StatusCode.CANCELLED,  # by the server: its stream ended under it
            # gRPC's own "Internal error from Core": a stream ended by the member (say, for
            # having no leader) while a message was being sent on it.
            grpc.StatusCode.INTERNAL,
        )
        if transport:
            self.failover(endpoint)
        if unsent or (idempotent and (transport or code == grpc.StatusCode.UNKNOWN)):
            return Retryable(f"{where}: {details}")
        if transport:
            return StoreUnavailable(
                f"etcd {where}: {details}; the write may or may not have been applied"
            )
        return StoreError(f"etcd {where}: {details}")

    def failover(self, endpoint: int) -> None:
        """Use the next endpoint, unless another caller already moved away from `endpoint`."""
        if self._index != endpoint or len(self.config.endpoints) < 2:
            return
        self._index = (endpoint + 1) % len(self.config.endpoints)
        log.warning(
            "store.etcd.failover",
            unusable=self.config.endpoints[endpoint],
            now_using=self.endpoint,
        )

    def _check_open(self) -> None:
        if self.closed:
            raise StoreUnavailable(f"store {self.config.url} is closed")

    async def close(self) -> None:
        """Close every channel; calls and streams still open on them end at once."""
        self.closed = True
        channels, self._channels, self._stubs = self._channels, [], {}
        for channel in channels:
            await channel.close()

    async def _attempt(
        self,
        request: Callable[[Attempt], Awaitable[_T]],
        deadline: float,
        what: str,
        *,
        idempotent: bool,
    ) -> _T:
        self._check_open()
        endpoint = self._index
        stubs = self._stubs_for(endpoint)
        try:
            metadata = await self._metadata(stubs, deadline)
            return await request(Attempt(stubs, deadline, metadata, endpoint))
        except grpc.aio.AioRpcError as exc:
            raise self.failure(exc, endpoint, what=what, idempotent=idempotent) from None
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if self.closed and task is not None and not task.cancelling():
                raise StoreUnavailable(
                    f"store {self.config.url} was closed during {what}"
                ) from None
            raise

    async def _metadata(self, stubs: Stubs, deadline: float) -> tuple[tuple[str, str], ...]:
        """`hasleader` always; the auth token when a user is configured (fetched once,
        and again after etcd declared it invalid, e.g. when a member restarted)."""
        if self.config.user is None:
            return (("hasleader", "true"),)
        async with self._auth_lock:
            if self._token is None:
                reply = await stubs.auth.Authenticate(
                    rpc.AuthenticateRequest(name=self.config.user, password=self.config.password),
                    timeout=deadline - asyncio.get_running_loop().time(),
                )
                self._token = str(reply.token)
            return (("hasleader", "true"), ("token", self._token))

    def _stubs_for(self, endpoint: int) -> Stubs:
        stubs = self._stubs.get(endpoint)
        if stubs is None:
            channel = self._open_channel(self.config.endpoints[endpoint])
            self._channels.append(channel)
            stubs = self._stubs[endpoint] = Stubs.on(channel)
        return stubs

    def _open_channel(self, target: str) -> grpc.aio.Channel:
        if not self.config.tls:
            return grpc.aio.insecure_channel(target, options=_CHANNEL_OPTIONS)
        credentials = grpc.ssl_channel_credentials(
            root_certificates=self.config.ca,
            private_key=self.config.private_key,
            certificate_chain=self.config.cert_chain,
        )
        return grpc.aio.secure_channel(target, credentials, options=_CHANNEL_OPTIONS)
