"""Real etcd processes for tests: 1 or 3 members on free loopback ports, killed by PID.

Debian's etcd-server (3.4) runs each member with its data in a test's directory, never
on 2379/2380 (the Debian service's ports). Every member gets a third, plain-HTTP port
for `/health` and `/metrics`, so health and leadership are read the same way with or
without TLS. Short raft timings (heartbeat 10 ms, election 100 ms) start a member in
about 0.2 s and make the smallest lease TTL etcd grants 1 s.

Members are started through `setpriv --pdeathsig KILL`, so they die with the test
process even when it is killed; `stop()` kills every member it started, by PID.
Start members from the main thread only: the death signal follows the thread that
started them.

With `netns`, the members run in that network namespace (made by the test, see
tests/netns.py): on its loopback as usual, and for clients also on `also_listen`, the
namespace's address that other namespaces reach over a link the test can cut.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from reconciler.store.etcd_grpc import grpc, rpc
from tests import netns

__all__ = [
    "EtcdCluster",
    "Member",
    "TlsFiles",
    "free_ports",
    "require_etcd",
    "shared_member",
    "wipe",
]

HEALTHY_WITHIN = 15.0
"""Seconds a cluster gets to elect a leader and answer /health (2 busy cores)."""


@dataclass(frozen=True)
class TlsFiles:
    """The members' certificate and key, and the CA that must have signed the clients' ones."""

    ca: Path
    cert: Path
    key: Path


@dataclass
class Member:
    name: str
    client_port: int
    peer_port: int
    metrics_port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    netns: str | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def get(self, path: str) -> str:
        """GET the member's plain-HTTP metrics listener ('' when it does not answer)."""
        url = f"http://127.0.0.1:{self.metrics_port}{path}"

        def fetch() -> str:
            try:
                with urllib.request.urlopen(url, timeout=0.5) as reply:
                    return str(reply.read().decode())
            except OSError:
                return ""

        return fetch() if self.netns is None else netns.call_in(self.netns, fetch)


@dataclass
class EtcdCluster:
    """`size` members in `directory`; TLS on the client ports when `tls` is given."""

    directory: Path
    size: int = 1
    tls: TlsFiles | None = None
    netns: str | None = None
    also_listen: str | None = None
    """Another address of the namespace the members serve clients on (with `netns`)."""
    members: list[Member] = field(default_factory=list)

    def __post_init__(self) -> None:
        ports = free_ports(3 * self.size)
        self.members = [
            Member(
                f"m{i}",
                *ports[3 * i : 3 * i + 3],
                data_dir=self.directory / f"m{i}",
                netns=self.netns,
            )
            for i in range(self.size)
        ]
        self._token = "hactl-test-" + secrets.token_hex(4)

    @property
    def endpoints(self) -> list[str]:
        return [member.endpoint for member in self.members]

    def url(self, *names: str, timeout: str = "", host: str = "127.0.0.1") -> str:
        """`etcd://…` of the named members (all by default), in that order, at `host`
        (`also_listen` for clients in another namespace)."""
        chosen = [self.member(name) for name in names] if names else self.members
        query = f"?timeout={timeout}" if timeout else ""
        return "etcd://" + ",".join(f"{host}:{m.client_port}" for m in chosen) + query

    def member(self, name: str) -> Member:
        return next(member for member in self.members if member.name == name)

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        for member in self.members:
            self._spawn(member)
        self.wait_healthy()

    def stop(self) -> None:
        """Kill every member and drop its data, keeping the logs: each member preallocates
        about 120 MB of WAL, and repeated fault runs left gigabytes behind."""
        for member in self.members:
            self.kill(member.name)
        for member in self.members:
            shutil.rmtree(member.data_dir, ignore_errors=True)

    def kill(self, name: str) -> None:
        """kill -9 the member (by the PID this object started) and reap it."""
        member = self.member(name)
        if member.process is not None:
            if member.process.poll() is None:
                os.kill(member.process.pid, signal.SIGKILL)
            member.process.wait(timeout=10)
            member.process = None

    async def restarted(self, name: str) -> None:
        """Start a killed member again on its data directory, from this (the main) thread,
        and wait for its health on a worker thread, so the test's event loop keeps running."""
        self._spawn(self.member(name))
        await asyncio.to_thread(self.wait_healthy)

    def leader(self) -> str:
        """The name of the member that is leader now (waits for an election)."""
        deadline = time.monotonic() + HEALTHY_WITHIN
        while time.monotonic() < deadline:
            for member in self.members:
                if member.running and "\netcd_server_is_leader 1" in member.get("/metrics"):
                    return member.name
            time.sleep(0.02)
        raise AssertionError(f"no etcd leader within {HEALTHY_WITHIN}s")

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTHY_WITHIN
        for member in self.members:
            while member.running and '"health":"true"' not in member.get("/health"):
                if time.monotonic() > deadline:
                    self.stop()
                    raise AssertionError(f"etcd {member.name} not healthy: {self._log(member)}")
                time.sleep(0.02)
            if not member.running and member.process is not None:
                raise AssertionError(f"etcd {member.name} exited: {self._log(member)}")

    def _spawn(self, member: Member) -> None:
        scheme = "https" if self.tls else "http"
        client = f"{scheme}://127.0.0.1:{member.client_port}"
        listen = client
        if self.also_listen:
            listen += f",{scheme}://{self.also_listen}:{member.client_port}"
        peers = ",".join(f"{m.name}=http://127.0.0.1:{m.peer_port}" for m in self.members)
        command = [
            *(netns.prefix(self.netns) if self.netns else []),
            "setpriv", "--pdeathsig", "KILL", "--",
            "etcd", "--name", member.name, "--data-dir", str(member.data_dir),
            "--listen-client-urls", listen, "--advertise-client-urls", client,
            "--listen-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--initial-advertise-peer-urls", f"http://127.0.0.1:{member.peer_port}",
            "--listen-metrics-urls", f"http://127.0.0.1:{member.metrics_port}",
            "--initial-cluster", peers, "--initial-cluster-token", self._token,
            "--heartbeat-interval", "10", "--election-timeout", "100",
            "--logger", "zap", "--log-level", "warn",
        ]  # fmt: skip
        if self.tls:
            command += ["--cert-file", str(self.tls.cert), "--key-file", str(self.tls.key)]
            command += ["--trusted-ca-file", str(self.tls.ca), "--client-cert-auth"]
        log = (self.directory / f"{member.name}.log").open("ab")
        with log:
            member.process = subprocess.Popen(
                command, stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True
            )

    def _log(self, member: Member) -> str:
        path = self.directory / f"{member.name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"


def free_ports(count: int) -> list[int]:
    """Ports the kernel just handed out on 127.0.0.1 (ephemeral: never 2379/2380)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


_shared: EtcdCluster | None = None


def shared_member() -> EtcdCluster:
    """One member for the whole test session (the contract and agent suites wipe it
    between tests), started on first use and killed when the interpreter exits."""
    global _shared
    if _shared is None or not _shared.members[0].running:
        directory = Path(tempfile.mkdtemp(prefix="hactl-etcd-"))
        cluster = EtcdCluster(directory)
        cluster.start()
        atexit.register(shutil.rmtree, directory, ignore_errors=True)
        atexit.register(cluster.stop)
        _shared = cluster
    return _shared


def require_etcd() -> None:
    """Skip without etcd on a developer's machine; fail in CI, which must have it."""
    if shutil.which("etcd") and shutil.which("setpriv"):
        return
    message = "etcd (Debian's etcd-server) is not installed; ./dev test installs it"
    if os.environ.get("CI"):
        raise AssertionError(message)
    pytest.skip(message)


async def wipe(cluster: EtcdCluster) -> None:
    """Make the cluster an empty store again: revoke every lease, delete every key.

    Revoking matters as much as deleting: a lease left by one test would expire in a
    later one and move its revisions."""
    async with grpc.aio.insecure_channel(cluster.endpoints[0]) as channel:
        leases, kv = rpc.LeaseStub(channel), rpc.KVStub(channel)
        for lease in (await leases.LeaseLeases(rpc.LeaseLeasesRequest(), timeout=5)).leases:
            with contextlib.suppress(grpc.aio.AioRpcError):  # expired meanwhile
                await leases.LeaseRevoke(rpc.LeaseRevokeRequest(ID=lease.ID), timeout=5)
        await kv.DeleteRange(rpc.DeleteRangeRequest(key=b"\0", range_end=b"\0"), timeout=5)
