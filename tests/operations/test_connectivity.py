"""Connectivity checks: damping, probes, and three real agents in network namespaces
whose links to the ping target the test cuts and mends."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from reconciler import keys
from reconciler.agent import probes
from reconciler.agent.connectivity import Damper, probe_targets
from reconciler.model.kinds import Connectivity
from reconciler.store.url import open_store
from tests import netns
from tests.harness import AgentCluster
from tests.manifests import (
    NODES,
    cluster_doc,
    document,
    documents,
    fence_process,
    nodes,
    prefers,
    witness_service,
)
from tests.waiting import wait_until
from tests.witness import overlaps


class TestDamper:
    """A value is published once it has held for `dampen`; a blip is never published."""

    def test_first_value_at_once(self) -> None:
        assert Damper(5.0).observe(100, 0.0) == 100

    def test_a_single_lost_probe_is_not_published(self) -> None:
        damper = Damper(1.0)
        damper.observe(100, 0.0)
        assert damper.observe(0, 0.2) is None
        assert damper.observe(100, 0.4) is None
        assert damper.observe(0, 1.1) is None  # a new loss starts a new wait
        assert damper.published == 100

    def test_a_lasting_change_is_published_after_dampen(self) -> None:
        damper = Damper(1.0)
        damper.observe(100, 0.0)
        assert [damper.observe(0, t) for t in (0.2, 0.4, 0.8, 1.19)] == [None] * 4
        assert damper.observe(0, 1.2) == 0
        assert damper.observe(0, 1.4) is None

    def test_no_damping(self) -> None:
        damper = Damper(0.0)
        damper.observe(100, 0.0)
        assert damper.observe(0, 0.1) == 0


class TestProbes:
    """TCP answers (accepted or refused) prove the path; ICMP where permitted."""

    async def test_tcp_accepted_and_refused(self) -> None:
        listener = socket.create_server(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        try:
            assert await probes.tcp_connect("127.0.0.1", port, within=1.0)
        finally:
            listener.close()
        assert await probes.tcp_connect("127.0.0.1", port, within=1.0)  # refused: host up

    async def test_icmp_to_loopback(self) -> None:
        if not probes.icmp_permitted():
            pytest.skip("ICMP sockets are not permitted for this user")
        assert await probes.icmp_echo("127.0.0.1", within=1.0)

    async def test_unprobable_target(self) -> None:
        spec = Connectivity.model_validate({"targets": ["gateway.invalid"], "interval": "200ms"})
        assert await probe_targets(spec, icmp=True) == (0, ["gateway.invalid"])

    def test_echo_request_checksum(self) -> None:
        packet = probes.echo_request(0x1234, 1)
        assert probes._checksum(packet) == 0  # a valid checksum sums to zero


# --- three agents in namespaces -------------------------------------------------------


def manifests(workdir: Path) -> str:
    """The witness service prefers n1 and needs the network: pingd 0 keeps it away."""
    connectivity = {
        "targets": [netns.TARGET],
        "interval": "200ms",
        "attribute": "pingd",
        "multiplier": 100,
        "dampen": "1s",
    }
    needs_network = {
        "resource": "service",
        "rules": [{"attribute": "pingd", "op": "lt", "value": "1", "score": "-INFINITY"}],
    }
    return documents(
        cluster_doc("pingd", stonith=True, autoFailback=True, connectivity=connectivity),
        nodes(),
        fence_process(),
        witness_service(workdir),
        prefers("service"),
        document("Location", "service-needs-network", needs_network),
    )


class NamespacedCluster(AgentCluster):
    """Agents started inside their node's network namespace (same command otherwise)."""

    def __init__(self, workdir: Path, *, store_url: str, network: netns.Network) -> None:
        super().__init__(workdir, store_url=store_url)
        self.network = network

    def command_prefix(self, node: str) -> list[str]:
        return self.network.prefix(node)


def attributes(cluster: AgentCluster) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        store = open_store(cluster.store_url)
        try:
            found = {}
            for node in ("n1", "n2", "n3"):
                kv = await store.get(keys.attributes(cluster.cluster, node))
                found[node] = json.loads(kv.value).get("pingd") if kv else None
            return found
        finally:
            await store.close()

    return asyncio.run(read())


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[NamespacedCluster]:
    reason = netns.unavailable()
    if reason is not None:
        pytest.skip(f"connectivity test needs network namespaces: {reason}")
    with netns.private_network(list(NODES)) as network:
        running = NamespacedCluster(
            tmp_path, store_url=f"sqlite://{tmp_path}/store.db", network=network
        )
        try:
            running.start_witnessed(manifests(tmp_path))
            wait_until(
                lambda: attributes(running) == {"n1": 100, "n2": 100, "n3": 100},
                within=10,
                what="every node reaching the target",
            )
            yield running
        finally:
            running.stop_all()


def connectivity_events(cluster: AgentCluster, node: str) -> list[dict[str, Any]]:
    lines = cluster.hactl("events", "-o", "json").stdout.splitlines()
    found = [json.loads(line) for line in lines]
    return [e for e in found if e["kind"] == "connectivity.changed" and e.get("node") == node]


class TestCutLink:
    """A node whose link is cut loses the service, gets it back when mended; no flapping."""

    def test_move_away_and_back(self, cluster: NamespacedCluster) -> None:
        cluster.network.cut("n1")
        wait_until(lambda: attributes(cluster)["n1"] == 0, within=10, what="n1 pingd 0")
        wait_until(
            lambda: len(cluster.answering()) == 1 and "n1" not in cluster.answering(),
            within=15,
            what="service moved off n1",
        )
        (target,) = cluster.answering()
        before = len(connectivity_events(cluster, target))
        stops_before = cluster.actions(target).count(("stop", "service"))

        # One lost probe on the node that runs the service now: a blip shorter than
        # dampen (1s) must neither be published nor move anything. The absence of a
        # change can only be observed over a window: two dampen periods.
        cluster.network.cut(target)
        time.sleep(0.3)
        cluster.network.mend(target)
        time.sleep(2.0)
        assert attributes(cluster)[target] == 100
        assert len(connectivity_events(cluster, target)) == before
        assert cluster.actions(target).count(("stop", "service")) == stops_before
        assert cluster.answering() == {target}

        cluster.network.mend("n1")
        wait_until(lambda: attributes(cluster)["n1"] == 100, within=10, what="n1 pingd back")
        wait_until(lambda: cluster.answering() == {"n1"}, within=15, what="service back on n1")
        time.sleep(0.3)  # let the witness run on: a second copy would show up here
        assert overlaps(cluster.workdir / "witness.log") == []
        lost = [e for e in connectivity_events(cluster, "n1") if e["details"]["value"] == 0]
        assert lost and lost[0]["ok"] is False
