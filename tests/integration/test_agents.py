"""Three real node agents on the embedded store: convergence, failover, recovery."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness import BACKENDS, AgentCluster, agent_cluster, backend_url
from tests.manifests import FAST_TIMING, cluster_doc, documents, dummy, group, nodes, prefers

TIMING = {**FAST_TIMING, "initdeadtime": "2s"}


def manifests(workdir: Path) -> str:
    """Group g of two monitored Dummies preferring n1; b fails while `fail-b` exists."""
    return documents(
        cluster_doc("t", stonith=False, timing=TIMING, defaults={"migrationThreshold": 2}),
        nodes(),
        dummy("a"),
        dummy("b", params={"fail_monitor_file": str(workdir / "fail-b")}),
        group("g", "a", "b"),
        prefers("g"),
    )


@pytest.fixture(params=BACKENDS)
def cluster(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AgentCluster]:
    with agent_cluster(tmp_path, backend_url(request.param, tmp_path)) as running:
        running.apply(manifests(tmp_path))
        running.start_all()
        yield running


def group_on(node: str) -> Any:
    def check(status: dict[str, Any]) -> bool:
        resources = status["resources"]
        return all(
            resources[r]["node"] == node and resources[r]["role"] == "Started" for r in ("a", "b")
        )

    return check


class TestConvergence:
    """Declared resources start, in group order, on the preferred node."""

    def test_group_starts_in_order_on_preferred_node(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        assert cluster.running_on("a") == ["n1"] and cluster.running_on("b") == ["n1"]
        assert cluster.actions("n1") == [("start", "a"), ("start", "b")]


class TestFailover:
    """A leaving or dying node's resources move, and never run twice."""

    def test_sigterm_moves_resources_cleanly(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        cluster.signal("n1", signal.SIGTERM)
        assert cluster.wait_exit("n1", within=20) == 0
        assert cluster.actions("n1")[-2:] == [("stop", "b"), ("stop", "a")]
        status = cluster.wait_status(
            lambda s: s["resources"]["b"]["role"] == "Started", within=15, what="group moved"
        )
        target = status["resources"]["a"]["node"]
        assert target in ("n2", "n3") and status["nodes"]["n1"]["state"] == "offline"
        assert cluster.running_on("a") == [target] and cluster.running_on("b") == [target]
        assert cluster.actions(target)[-2:] == [("start", "a"), ("start", "b")]

    def test_kill_moves_resources_after_the_lease_expires(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        cluster.signal("n1", signal.SIGKILL)
        status = cluster.wait_status(
            lambda s: (
                s["resources"]["b"]["node"] in ("n2", "n3")
                and s["resources"]["b"]["role"] == "Started"
            ),
            within=15,
            what="group moved after kill",
        )
        assert status["nodes"]["n1"]["state"] == "fenced"  # recorded as assumed down

    def test_restarted_agent_adopts_running_resources(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        cluster.signal("n1", signal.SIGKILL)
        cluster.wait_exit("n1", within=5)
        cluster.start("n1")
        cluster.wait_status(group_on("n1"), within=15, what="group still on n1")
        starts = [a for a in cluster.actions("n1") if a[0] == "start"]
        assert starts == [("start", "a"), ("start", "b")]  # from the first run only
        assert cluster.running_on("a") == ["n1"]


class TestRecovery:
    """A failing monitor restarts in place, and past migrationThreshold moves away."""

    def test_restart_then_move(self, cluster: AgentCluster, tmp_path: Path) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        fail = tmp_path / "fail-b"
        fail.touch()
        cluster.wait_status(
            lambda s: s["resources"]["b"]["failcount"]["n1"] >= 1, within=10, what="failure"
        )
        fail.unlink()
        cluster.wait_status(group_on("n1"), within=15, what="restarted in place")
        fail.touch()
        status = cluster.wait_status(
            lambda s: (
                s["resources"]["b"]["failcount"]["n1"] >= 2
                and s["resources"]["b"]["node"] in ("n2", "n3")
                and s["resources"]["b"]["role"] == "Started"
            ),
            within=20,
            what="moved after threshold",
        )
        assert status["resources"]["a"]["node"] == status["resources"]["b"]["node"]
        fail.unlink()


class TestSimulateOnTheLiveStore:
    """`hactl simulate` schedules the store's current state and replays saved inputs."""

    def test_converged_cluster_needs_no_action(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        done = cluster.hactl("simulate", "-o", "json")
        plan = json.loads(done.stdout)
        assert plan["actions"] == [] and plan["fence"] == []
        assert plan["placements"]["a"] == "n1" and plan["placements"]["b"] == "n1"

    def test_replay_the_leaders_saved_input(self, cluster: AgentCluster) -> None:
        cluster.wait_status(group_on("n1"), within=15, what="group on n1")
        done = cluster.hactl("simulate", "--saved", "latest", "-o", "json")
        assert json.loads(done.stdout)["placements"]["a"] == "n1"
        missing = cluster.hactl("simulate", "--saved", "999999", check=False)
        assert missing.returncode == 2 and "no saved input" in missing.stderr
