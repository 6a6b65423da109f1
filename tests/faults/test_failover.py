"""Failover under faults, with fencing, on the embedded store: witnessed from outside.

Three real agents; a group of a Dummy and the witness service (tests/witness_daemon.py
run by hactl:anything). After each fault the witness log must show no moment at which
two nodes served, the service must end up on exactly one survivor, and the lost node's
fencing must be recorded before the survivor's service first answered.
"""

from __future__ import annotations

import json
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import keys
from reconciler.agent.records import FenceRecord
from tests.etcd_cluster import EtcdCluster, require_etcd
from tests.harness import AgentCluster
from tests.waiting import wait_until
from tests.witness import intervals, lines, overlaps, serving_since

WITNESS = Path(__file__).resolve().parent.parent / "witness_daemon.py"

MANIFESTS = """\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {name: faults}
spec:
  timing: {keepalive: 100ms, warntime: 300ms, deadtime: 1s, initdeadtime: 3s}
  stonith: {enabled: true}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n1}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n2}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n3}
---
apiVersion: hactl/v1alpha1
kind: FenceDevice
metadata: {name: local}
spec: {driver: fence_process, nodes: [n1, n2, n3]}
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: data}
spec:
  agent: hactl:Dummy
  params: {fail_monitor_file: WORK/fail-monitor, fail_stop_file: WORK/fail-stop}
  ops: [{name: monitor, interval: 200ms, timeout: 5s}]
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: service}
spec:
  agent: hactl:anything
  params: {binfile: PYTHON, cmdline_options: "WITNESS WORK/witness.log"}
  ops: [{name: monitor, interval: 200ms, timeout: 5s}]
---
apiVersion: hactl/v1alpha1
kind: Group
metadata: {name: app}
spec: {resources: [data, service]}
---
apiVersion: hactl/v1alpha1
kind: Location
metadata: {name: app-prefers-n1}
spec: {resource: app, node: n1, score: 100}
"""


@pytest.fixture(scope="module")
def etcd3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A 3-member etcd for the module (each test's cluster has keys of its own)."""
    require_etcd()
    members = EtcdCluster(tmp_path_factory.mktemp("etcd3"), size=3)
    members.start()
    try:
        yield members
    finally:
        members.stop()


def start_cluster(workdir: Path, url: str) -> AgentCluster:
    text = (
        MANIFESTS.replace("WORK", str(workdir))
        .replace("PYTHON", sys.executable)
        .replace("WITNESS", str(WITNESS))
    )
    running = AgentCluster(workdir, store_url=url)
    running.apply(text)
    for node in ("n1", "n2", "n3"):
        running.start(node)
    wait_until(
        lambda: serving_since(workdir / "witness.log", time.monotonic_ns() - 50_000_000) == {"n1"},
        within=30,
        what="the service answering on n1",
    )
    return running


@pytest.fixture(params=["sqlite", "etcd3"])
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentCluster]:
    if request.param == "sqlite":
        url = f"sqlite://{tmp_path}/store.db"
    else:
        url = request.getfixturevalue("etcd3").url()
    running = start_cluster(tmp_path, url)
    try:
        yield running
    finally:
        running.stop_all()


def fence_record(cluster: AgentCluster, node: str) -> FenceRecord | None:
    raw = cluster.read_key(keys.fenced(cluster.cluster, node))
    return FenceRecord.from_json(raw) if raw else None


def answering_survivors(log: Path) -> set[str]:
    return serving_since(log, time.monotonic_ns() - 100_000_000) - {"n1"}


def assert_safe_takeover(cluster: AgentCluster, lost: str) -> str:
    """The service moved to exactly one survivor, after the lost node's fencing, and no
    two nodes ever served at once. Returns the survivor."""
    log = cluster.workdir / "witness.log"
    survivors = {"n1", "n2", "n3"} - {lost}

    def moved() -> bool:
        recent = serving_since(log, time.monotonic_ns() - 100_000_000)
        return len(recent) == 1 and recent <= survivors

    wait_until(moved, within=30, what="the service answering on one survivor")
    time.sleep(0.3)  # let the log run on: a second copy would show up here
    assert overlaps(log) == []
    (survivor,) = serving_since(log, time.monotonic_ns() - 100_000_000)
    record = fence_record(cluster, lost)
    assert record is not None, f"{lost} was never fenced"
    first_answer = min(i.start_wall for i in intervals(log) if i.node == survivor)
    assert record.at * 1e9 < first_answer, "the survivor answered before the fencing record"
    return survivor


class TestFailoverWithFencing:
    """A lost node is fenced before its service answers anywhere else; never two at once."""

    def test_kill_9_of_the_active_node(self, cluster: AgentCluster) -> None:
        cluster.signal("n1", signal.SIGKILL)
        assert_safe_takeover(cluster, "n1")

    def test_frozen_past_deadtime_then_resumed(self, cluster: AgentCluster) -> None:
        cluster.signal("n1", signal.SIGSTOP)
        if cluster.store_url.startswith("sqlite"):
            # The embedded store is one file: a process frozen while it holds the
            # file's write lock stalls every agent, which then give up and stop their
            # resources (docs/store.md). Safety must still hold: never two copies.
            log = cluster.workdir / "witness.log"
            wait_until(
                lambda: (
                    bool(answering_survivors(log))
                    or all(cluster.processes[n].poll() is not None for n in ("n2", "n3"))
                ),
                within=30,
                what="a takeover, or every survivor giving up",
            )
            cluster.signal("n1", signal.SIGCONT)
            time.sleep(0.5)  # a second copy, if any, would answer in this window
            assert overlaps(log) == []
            return
        assert_safe_takeover(cluster, "n1")
        cluster.signal("n1", signal.SIGCONT)
        cluster.wait_exit("n1", within=10)  # fenced: it never acts again
        time.sleep(0.5)
        assert overlaps(cluster.workdir / "witness.log") == []

    def test_failing_stop_gets_the_node_fenced(self, cluster: AgentCluster, tmp_path: Path) -> None:
        # The fault files are seen by every node: remove them as soon as n1's stop has
        # failed, so that only n1 fails.
        (tmp_path / "fail-stop").touch()
        (tmp_path / "fail-monitor").touch()
        failed_stop = keys.failcount(cluster.cluster, "n1", "data", "stop")
        wait_until(lambda: cluster.read_key(failed_stop) is not None, within=15, what="stop failed")
        (tmp_path / "fail-stop").unlink()
        (tmp_path / "fail-monitor").unlink()
        assert_safe_takeover(cluster, "n1")


class TestManualFencing:
    """`hactl fence NODE` fences and records; `confirm` refuses a node that is online."""

    def test_manual_fence_then_recovery(self, cluster: AgentCluster) -> None:
        done = cluster.hactl("fence", "n1")
        assert "node n1 fenced" in done.stdout
        assert_safe_takeover(cluster, "n1")
        history = json.loads(cluster.hactl("fence", "history", "-o", "json").stdout)
        assert [(h["node"], h["device"]) for h in history] == [("n1", "local")]

    def test_confirm_refuses_an_online_node(self, cluster: AgentCluster) -> None:
        refused = cluster.hactl("fence", "confirm", "n2", check=False)
        assert refused.returncode == 2 and "is online" in refused.stderr
        assert fence_record(cluster, "n2") is None

    def test_confirm_of_a_lost_node_lets_recovery_go_on(self, cluster: AgentCluster) -> None:
        cluster.signal("n1", signal.SIGSTOP)
        wait_until(
            lambda: cluster.read_key(keys.member(cluster.cluster, "n1")) is None,
            within=10,
            what="n1's lease expired",
        )
        cluster.hactl("fence", "confirm", "n1")
        record = fence_record(cluster, "n1")
        assert record is not None and record.device in ("operator", "local")


class TestStoreFaults:
    """Losing the etcd leader member while a node fails still fences before takeover."""

    def test_kill_9_of_the_etcd_leader_during_a_failover(self, tmp_path: Path) -> None:
        require_etcd()
        members = EtcdCluster(tmp_path / "etcd", size=3)
        members.start()
        running = None
        try:
            running = start_cluster(tmp_path, members.url())
            leader = members.leader()
            running.signal("n1", signal.SIGKILL)
            members.kill(leader)
            assert_safe_takeover(running, "n1")
        finally:
            if running is not None:
                running.stop_all()
            members.stop()


class TestFailFast:
    """Agents that lose the store stop their resources before their leases could expire."""

    def test_store_lost_stops_everything_and_exits_3(self, tmp_path: Path) -> None:
        require_etcd()
        members = EtcdCluster(tmp_path / "etcd", size=1)
        members.start()
        running = None
        try:
            running = start_cluster(tmp_path, members.url())
            members.kill("m0")
            lost_at = time.monotonic_ns()
            codes = {node: running.wait_exit(node, within=15) for node in ("n1", "n2", "n3")}
            assert codes == {"n1": 3, "n2": 3, "n3": 3}
            assert running.running_on("data") == []
            last_answer = max(at for _, at, _ in lines(tmp_path / "witness.log"))
            # stopped within the lease budget: deadtime 1s minus the margin
            assert (last_answer - lost_at) / 1e9 < 1.0
        finally:
            if running is not None:
                running.stop_all()
            members.stop()
