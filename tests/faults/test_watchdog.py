"""Watchdog fencing under faults, on the embedded store and etcd, witnessed from outside.

Three real agents, stonith by watchdog only (no FenceDevice): each agent runs its
watchdog process. A node frozen past deadtime is killed by its own watchdog, and its
service comes up on a survivor only once the leader has seen its lease gone for
watchdogTimeout; a node that is alive but unclean (a failed stop) swallows the poison
pill and dies at once. The witness log must never show two nodes serving at once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler import keys
from reconciler.agent.poison import PoisonPill
from reconciler.agent.records import FenceRecord, Incarnation
from tests.harness import BACKENDS, FENCE_PROCESS, AgentCluster, backend_url
from tests.manifests import FAST_TIMING, document, documents, nodes, witnessed_app
from tests.waiting import wait_until
from tests.witness import intervals, overlaps, serving_since

WATCHDOG_TIMEOUT = 2.0
"""Twice deadtime (1 s, FAST_TIMING): the node's watchdog fires 1 s after its last pet."""


def manifests(workdir: Path) -> str:
    stonith = {"enabled": True, "watchdogTimeout": f"{WATCHDOG_TIMEOUT:g}s"}
    faults = {
        "fail_monitor_file": f"{workdir}/fail-monitor",
        "fail_stop_file": f"{workdir}/fail-stop",
    }
    return documents(
        document("Cluster", "watchdog", {"timing": FAST_TIMING, "stonith": stonith}),
        nodes(),
        witnessed_app(workdir, data=faults),
    )


@pytest.fixture(params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentCluster]:
    running = AgentCluster(tmp_path, store_url=backend_url(request.param, tmp_path))
    try:
        running.apply(manifests(tmp_path))
        for node in ("n1", "n2", "n3"):
            running.start(node)
        wait_until(
            lambda: (
                serving_since(tmp_path / "witness.log", time.monotonic_ns() - 50_000_000) == {"n1"}
            ),
            within=30,
            what="the service answering on n1",
        )
        yield running
    finally:
        running.stop_all()


def holds_a_write_lock(pid: int) -> bool:
    """Whether the process holds a POSIX write lock (SQLite's, on the store's files)."""
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if "POSIX" in fields and "WRITE" in fields and str(pid) in fields:
            return True
    return False


def freeze_outside_the_store_lock(cluster: AgentCluster, node: str) -> None:
    """SIGSTOP the node's agent at a moment it holds no lock of the embedded store.

    A process frozen while it holds SQLite's write lock stalls every agent (docs/store.md),
    which then fail fast: a limit of the embedded store, not what these tests are about.
    (tests/harness.py has no such helper; it belongs there if other tests need it.)"""
    process = cluster.processes[node]
    for _ in range(100):
        process.send_signal(signal.SIGSTOP)
        wait_until(
            lambda: Path(f"/proc/{process.pid}/stat").read_text().split(")")[1].split()[0] == "T",
            within=5,
            what=f"{node} stopped",
        )
        if not holds_a_write_lock(process.pid):
            return
        process.send_signal(signal.SIGCONT)
    raise AssertionError(f"{node} always held a store lock when frozen")


def fence_record(cluster: AgentCluster, node: str) -> FenceRecord | None:
    raw = cluster.read_key(keys.fenced(cluster.cluster, node))
    return FenceRecord.from_json(raw) if raw else None


def nothing_of(cluster: AgentCluster, node: str) -> bool:
    """fence_process's own view: no process of the node is left (status exits 2)."""
    status = subprocess.run(
        [FENCE_PROCESS],
        input=f"action=status\nport={node}\ncluster={cluster.cluster}\n",
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    return status.returncode == 2


def wait_for_survivor(log: Path) -> str:
    def moved() -> bool:
        recent = serving_since(log, time.monotonic_ns() - 100_000_000)
        return len(recent) == 1 and recent <= {"n2", "n3"}

    wait_until(moved, within=40, what="the service answering on one survivor")
    time.sleep(0.3)  # let the log run on: a second copy would show up here
    (survivor,) = serving_since(log, time.monotonic_ns() - 100_000_000)
    return survivor


def watchdog_history(cluster: AgentCluster) -> list[dict[str, object]]:
    rows = json.loads(cluster.hactl("fence", "history", "n1", "-o", "json").stdout)
    return [r for r in rows if r["device"] == "watchdog"]


class TestWatchdogFencing:
    def test_frozen_node_is_killed_by_its_watchdog_before_takeover(
        self, cluster: AgentCluster
    ) -> None:
        log = cluster.workdir / "witness.log"
        member = keys.member(cluster.cluster, "n1")
        freeze_outside_the_store_lock(cluster, "n1")
        present_at = time.monotonic_ns()

        def lease_gone() -> bool:
            nonlocal present_at
            asked = time.monotonic_ns()
            if cluster.read_key(member) is not None:
                present_at = asked  # the lease was deleted after this moment
                return False
            return True

        wait_until(lease_gone, within=15, what="n1's lease gone")
        # Its watchdog (watchdogTimeout/2 without a pet) has killed the frozen agent and
        # the service it ran, although nothing could reach the frozen agent itself.
        wait_until(
            lambda: cluster.processes["n1"].poll() is not None,
            within=WATCHDOG_TIMEOUT,
            what="n1's agent killed by its watchdog",
        )
        assert cluster.processes["n1"].returncode == -signal.SIGKILL
        survivor = wait_for_survivor(log)
        assert overlaps(log) == []
        first_answer = min(i.start for i in intervals(log) if i.node == survivor)
        assert (first_answer - present_at) / 1e9 >= WATCHDOG_TIMEOUT
        last_n1 = max(i.end for i in intervals(log) if i.node == "n1")
        assert last_n1 < first_answer
        record = fence_record(cluster, "n1")
        assert record is not None and (record.device, record.action) == ("watchdog", "self-fence")
        (entry,) = watchdog_history(cluster)
        assert entry["outcome"] == "success" and entry["incarnation"] == record.incarnation
        cluster.signal("n1", signal.SIGCONT)
        assert nothing_of(cluster, "n1")
        time.sleep(0.3)
        assert serving_since(log, time.monotonic_ns() - 200_000_000) == {survivor}

    def test_poison_pill_kills_a_live_unclean_node(
        self, cluster: AgentCluster, tmp_path: Path
    ) -> None:
        # The fault files are seen by every node: remove them as soon as n1's stop has
        # failed, so that only n1 fails.
        (tmp_path / "fail-stop").touch()
        (tmp_path / "fail-monitor").touch()
        failed_stop = keys.failcount(cluster.cluster, "n1", "data", "stop")
        wait_until(lambda: cluster.read_key(failed_stop) is not None, within=15, what="stop failed")
        (tmp_path / "fail-stop").unlink()
        (tmp_path / "fail-monitor").unlink()
        # n1 is alive and keeps its lease: only the pill can make it self-fence.
        wait_until(
            lambda: cluster.processes["n1"].poll() is not None,
            within=15,
            what="n1 killed after its poison pill",
        )
        assert cluster.processes["n1"].returncode == -signal.SIGKILL
        raw = cluster.read_key(keys.poison_pill(cluster.cluster, "n1"))
        incarnation = cluster.read_key(keys.incarnation(cluster.cluster, "n1"))
        assert raw is not None and incarnation is not None
        pill = PoisonPill.from_json(raw)
        assert pill is not None
        assert pill.incarnation == Incarnation.from_json(incarnation).incarnation
        assert fence_record(cluster, "n1") is None  # not before its lease is gone long enough
        assert nothing_of(cluster, "n1")
        log = cluster.workdir / "witness.log"
        survivor = wait_for_survivor(log)
        assert overlaps(log) == []
        record = fence_record(cluster, "n1")
        assert record is not None and record.device == "watchdog"
        first_answer = min(i.start_wall for i in intervals(log) if i.node == survivor)
        assert record.at * 1e9 < first_answer
