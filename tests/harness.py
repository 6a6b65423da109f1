"""A cluster of real `hactl agent` processes on one machine, for integration tests.

Every process is started here and ended here, by PID. Status is read straight from
the store; the Dummy agents' state files (one directory per node) are the witness
from outside the cluster of where a resource really "runs".
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from reconciler.cli.runtime import read_status
from reconciler.store.url import open_store
from tests.manifests import NODES
from tests.waiting import wait_until
from tests.witness import serving_since

HACTL = [sys.executable, "-m", "reconciler"]
FENCE_PROCESS = str(Path(__file__).resolve().parent.parent / "fence" / "fence_process")


class AgentCluster:
    def __init__(self, workdir: Path, *, store_url: str, cluster: str | None = None) -> None:
        self.workdir = workdir
        self.store_url = store_url
        # A cluster name of its own: fence_process fences by cluster and node name, so
        # two test clusters on one machine must never share both.
        self.cluster = cluster or f"t{uuid.uuid4().hex[:8]}"
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.logs: dict[str, Path] = {}

    # --- commands --------------------------------------------------------------------

    def hactl(
        self, *args: str, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [*HACTL, "--store", self.store_url, "--cluster", self.cluster, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"hactl {' '.join(args)} failed: {done.stderr}")
        return done

    def apply(self, manifests: str) -> None:
        path = self.workdir / "manifests.yaml"
        path.write_text(textwrap.dedent(manifests))
        self.hactl("apply", "-f", str(path))

    # --- agents ----------------------------------------------------------------------

    def rsctmp(self, node: str) -> Path:
        return self.workdir / "rsctmp" / node

    def command_prefix(self, node: str) -> list[str]:
        """What the agent's command runs under (a subclass: a network namespace)."""
        return []

    def agent_store_url(self, node: str) -> str:
        """The store as the node's agent reaches it (a subclass: across a namespace)."""
        return self.store_url

    def read_key(self, key: str) -> bytes | None:
        """One key's value, read from the store as it is now."""

        async def read() -> bytes | None:
            store = open_store(self.store_url)
            try:
                kv = await store.get(key)
                return kv.value if kv else None
            finally:
                await store.close()

        return asyncio.run(read())

    def start(self, node: str) -> subprocess.Popen[bytes]:
        log = self.workdir / f"{node}.log"
        self.logs[node] = log
        env = {**os.environ, "HACTL_CLUSTER": self.cluster, "HACTL_NODE": node}
        url = self.agent_store_url(node)
        command = [
            *self.command_prefix(node),
            *HACTL,
            *("--store", url, "--cluster", self.cluster, "agent", "--node", node),
            *("--rsctmp", str(self.rsctmp(node)), "--parent-pid", str(os.getpid())),
        ]
        with log.open("ab") as out:
            process = subprocess.Popen(
                command, stdout=out, stderr=out, env=env, start_new_session=True
            )
        self.processes[node] = process
        return process

    def start_all(self, nodes: tuple[str, ...] = NODES) -> None:
        for node in nodes:
            self.start(node)

    def signal(self, node: str, sig: int) -> None:
        self.processes[node].send_signal(sig)

    def wait_exit(self, node: str, within: float) -> int:
        return self.processes[node].wait(timeout=within)

    def stop_all(self) -> None:
        """SIGTERM every agent still running, then SIGKILL what did not exit; by PID."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGCONT)
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + 20
        for process in self.processes.values():
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        self.reap_leftovers()

    def reap_leftovers(self) -> None:
        """Kill what this cluster's resources left running (daemons of a killed agent):
        they carry HACTL_CLUSTER with this test cluster's unique name, so they are ours.
        fence_process does exactly that, node by node."""
        for line in self.fence_process("list").splitlines():
            node, _, cluster = line.partition(",")
            if cluster == self.cluster:
                self.fence_process("off", port=node)

    def fence_process(self, action: str, **options: str) -> str:
        """fence/fence_process for this cluster, options on stdin as fence-agents take
        them; its stdout."""
        lines = {"action": action, **options, "cluster": self.cluster}
        done = subprocess.run(
            [FENCE_PROCESS],
            input="".join(f"{key}={value}\n" for key, value in lines.items()),
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        return done.stdout

    # --- observing -------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        async def read() -> dict[str, Any]:
            store = open_store(self.store_url)
            try:
                return await read_status(store, self.cluster)
            finally:
                await store.close()

        return asyncio.run(read())

    def where(self, resource: str) -> str | None:
        return self.status()["resources"][resource]["node"]

    def wait_status(
        self, predicate: Callable[[dict[str, Any]], bool], *, within: float, what: str
    ) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def check() -> bool:
            nonlocal seen
            seen = self.status()
            return predicate(seen)

        try:
            wait_until(check, within=within, what=what)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; last status: {json.dumps(seen)}") from None
        return seen

    def answering(self, within_ns: int = 100_000_000) -> set[str]:
        """Nodes whose witness service (tests/manifests.py) answered lately: its word."""
        log = self.workdir / "witness.log"
        return serving_since(log, time.monotonic_ns() - within_ns)

    def start_witnessed(self, manifests: str, *, on: str = "n1", within: float = 20) -> None:
        """Apply `manifests`, start an agent per node, and wait until the witness service
        answers on `on` (and nowhere else): the usual start of an agent suite."""
        self.apply(manifests)
        self.start_all()
        wait_until(lambda: self.answering() == {on}, within=within, what=f"service on {on}")

    def running_on(self, resource: str) -> list[str]:
        """Witness: the nodes whose Dummy state file for `resource` exists."""
        return sorted(
            node
            for node in self.processes
            if (self.rsctmp(node) / f"Dummy-{resource}.state").exists()
        )

    def actions(self, node: str) -> list[tuple[str, str]]:
        """(op, resource) of every action the node's agent ran, in order (from its log)."""
        found = []
        for line in self.logs[node].read_text().splitlines():
            if '"node.action"' in line:
                event = json.loads(line)
                found.append((event["op"], event["resource"]))
        return found


@contextmanager
def agent_cluster(workdir: Path, store_url: str) -> Iterator[AgentCluster]:
    cluster = AgentCluster(workdir, store_url=store_url)
    try:
        yield cluster
    finally:
        cluster.stop_all()


BACKENDS = ("sqlite", "etcd")
"""Store backends the agent suites run on: the embedded store and a real etcd."""


def backend_url(backend: str, workdir: Path) -> str:
    """A store URL for one test: a fresh SQLite file, or the session's etcd member (each
    test cluster has a name of its own, so tests never see each other's keys)."""
    if backend == "sqlite":
        return f"sqlite://{workdir}/store.db"
    from tests.etcd_cluster import require_etcd, shared_member

    require_etcd()
    return shared_member().url()
