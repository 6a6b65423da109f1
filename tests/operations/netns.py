"""Network namespaces for connectivity tests: a private network that exists only inside
namespaces the test creates, and is gone when it ends.

    target namespace:  bridge br0 10.250.0.254/24 (the ping target) + one veth per node
    node namespace i:  eth0 10.250.0.<i>/24, the other end of node i's veth

No address is ever added to the host's namespace and no namespace has a default
route: nothing can leave the machine. `cut(i)` downs node i's veth on the target side
(its link is cut); `mend(i)` brings it back. Agents run in their node's namespace
through `ip netns exec` (which execs: the PID the test holds is the agent's).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

TARGET = "10.250.0.254"


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


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
