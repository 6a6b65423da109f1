"""Network namespaces for tests: private networks that exist only inside namespaces the
test creates, and are gone when it ends.

Connectivity tests (`private_network`):

    target namespace:  bridge br0 10.250.0.254/24 (the ping target) + one veth per node
    node namespace i:  eth0 10.250.0.<i>/24, the other end of node i's veth

Partition tests (`partition`): the majority (store members, other agents, the test's
commands) in one namespace, one node alone in another, joined by a single veth pair:

    majority namespace:  lo 127.0.0.1, veth vp 10.252.0.254/24
    node namespace:      lo 127.0.0.1, veth eth0 10.252.0.1/24

No address is ever added to the host's namespace and no namespace has a default
route: nothing can leave the machine. `cut` downs a link (packets are dropped, not
refused: a real partition), `mend` brings it back. Processes run in a namespace
through `ip netns exec` (which execs: the PID the test holds is the process's own);
`call_in` runs a function of the test process itself on a thread inside one.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

TARGET = "10.250.0.254"
MAJORITY_ADDRESS = "10.252.0.254"
ALONE_ADDRESS = "10.252.0.1"
_CLONE_NEWNET = 0x40000000
_T = TypeVar("_T")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


def prefix(namespace: str) -> list[str]:
    """The command prefix that runs a process in `namespace`."""
    return ["ip", "netns", "exec", namespace]


def call_in(namespace: str, function: Callable[[], _T]) -> _T:
    """`function()` on a thread of its own that has joined `namespace` first: the sockets
    it opens live there; the rest of the process stays where it is (a network namespace
    belongs to a thread, not to the process)."""
    outcome: list[_T] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY | os.O_CLOEXEC)
            try:
                if ctypes.CDLL(None, use_errno=True).setns(fd, _CLONE_NEWNET) != 0:
                    raise OSError(ctypes.get_errno(), f"setns into {namespace} failed")
            finally:
                os.close(fd)
            outcome.append(function())
        except BaseException as exc:  # handed to the caller's thread
            failure.append(exc)

    thread = threading.Thread(target=target, name=f"netns-{namespace}")
    thread.start()
    thread.join()
    if failure:
        raise failure[0]
    return outcome[0]


def unavailable() -> str | None:
    """Why namespaces cannot be used here, or None."""
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed"
    probe = f"hcp{uuid.uuid4().hex[:8]}"
    try:
        _ip("netns", "add", probe)
    except subprocess.CalledProcessError as exc:
        return f"cannot create a network namespace: {exc.stderr.decode().strip()}"
    _ip("netns", "del", probe)
    return None


@dataclass
class Network:
    tag: str
    nodes: list[str]
    namespaces: dict[str, str] = field(default_factory=dict)

    @property
    def target_ns(self) -> str:
        return f"hct{self.tag}"

    def prefix(self, node: str) -> list[str]:
        """The command prefix that runs a process in `node`'s namespace."""
        return ["ip", "netns", "exec", self.namespaces[node]]

    def _peer(self, node: str) -> str:
        return f"p{self.nodes.index(node) + 1}"

    def cut(self, node: str) -> None:
        _ip("-n", self.target_ns, "link", "set", self._peer(node), "down")

    def mend(self, node: str) -> None:
        _ip("-n", self.target_ns, "link", "set", self._peer(node), "up")


@contextmanager
def private_network(nodes: list[str]) -> Iterator[Network]:
    net = Network(tag=uuid.uuid4().hex[:8], nodes=nodes)
    created: list[str] = []
    try:
        _ip("netns", "add", net.target_ns)
        created.append(net.target_ns)
        _ip("-n", net.target_ns, "link", "set", "lo", "up")
        _ip("-n", net.target_ns, "link", "add", "br0", "type", "bridge")
        _ip("-n", net.target_ns, "addr", "add", f"{TARGET}/24", "dev", "br0")
        _ip("-n", net.target_ns, "link", "set", "br0", "up")
        for index, node in enumerate(nodes, start=1):
            ns = f"hcn{index}{net.tag}"
            _ip("netns", "add", ns)
            created.append(ns)
            net.namespaces[node] = ns
            peer = f"p{index}"
            _ip(
                "-n",
                net.target_ns,
                "link",
                "add",
                peer,
                "type",
                "veth",
                "peer",
                "eth0",
                "netns",
                ns,
            )
            _ip("-n", net.target_ns, "link", "set", peer, "master", "br0")
            _ip("-n", net.target_ns, "link", "set", peer, "up")
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "addr", "add", f"10.250.0.{index}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
        yield net
    finally:
        for ns in reversed(created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)


@dataclass(frozen=True)
class Partition:
    """The majority's namespace and one node's, joined by one veth pair."""

    majority: str
    alone: str

    def cut(self) -> None:
        _ip("-n", self.majority, "link", "set", "vp", "down")

    def mend(self) -> None:
        _ip("-n", self.majority, "link", "set", "vp", "up")


@contextmanager
def partition() -> Iterator[Partition]:
    tag = uuid.uuid4().hex[:8]
    net = Partition(majority=f"hpm{tag}", alone=f"hpa{tag}")
    created: list[str] = []
    try:
        for ns in (net.majority, net.alone):
            _ip("netns", "add", ns)
            created.append(ns)
            _ip("-n", ns, "link", "set", "lo", "up")
        _ip(
            "-n",
            net.majority,
            "link",
            "add",
            "vp",
            "type",
            "veth",
            "peer",
            "eth0",
            "netns",
            net.alone,
        )
        for ns, dev, address in (
            (net.majority, "vp", MAJORITY_ADDRESS),
            (net.alone, "eth0", ALONE_ADDRESS),
        ):
            _ip("-n", ns, "addr", "add", f"{address}/24", "dev", dev)
            _ip("-n", ns, "link", "set", dev, "up")
        yield net
    finally:
        for ns in reversed(created):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10, check=False)
