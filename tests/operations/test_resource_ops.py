"""Resource intents against three real agents, in real time: a move that ends by itself,
an intent that outlives its leader, restart, cleanup; the witness sees one copy only."""

from __future__ import annotations

import json
import signal
import time
from datetime import datetime

from tests.harness import AgentCluster
from tests.waiting import wait_until
from tests.witness import intervals, overlaps


def intents(cluster: AgentCluster) -> list[str]:
    listed = json.loads(cluster.hactl("get", "intents", "-o", "json").stdout)
    return [item["name"] for item in listed["items"]]


def no_two_copies(cluster: AgentCluster) -> None:
    time.sleep(0.3)  # let the witness run on: a second copy would show up here
    assert overlaps(cluster.workdir / "witness.log") == []


class TestMoveForAWhile:
    """move --for moves the group now and lets it fail back when the time is up."""

    def test_move_expires_in_real_time(self, cluster: AgentCluster) -> None:
        log = cluster.workdir / "witness.log"
        moved = cluster.hactl(
            "resource", "move", "app", "--to", "n2", "--for", "5s", "--wait", "--timeout", "30s"
        )
        assert "move app to n2 until" in moved.stdout and "converged" in moved.stdout
        (item,) = json.loads(cluster.hactl("get", "intents", "-o", "json").stdout)["items"]
        until = datetime.fromisoformat(item["until"]).timestamp()
        wait_until(lambda: cluster.answering() == {"n1"}, within=30, what="service back on n1")
        wait_until(lambda: intents(cluster) == [], within=5, what="the expired intent removed")
        no_two_copies(cluster)
        spans = intervals(log)
        on_n2 = [i for i in spans if i.node == "n2"]
        back = [i for i in spans if i.node == "n1" and on_n2 and i.start > on_n2[0].end]
        assert on_n2 and back, spans
        # Back on n1 only once the intent ran out (whole seconds: `until` is stored
        # exactly, printed to the second), and promptly after it.
        assert back[0].start_wall / 1e9 >= until - 1
        assert back[0].start_wall / 1e9 < until + 10


class TestLeaderChange:
    """An intent is in the store, not in a leader's memory: a new leader honours it."""

    def test_ban_survives_the_leader(self, cluster: AgentCluster) -> None:
        leader = cluster.status()["leader"]
        assert leader is not None
        target = "n3" if leader != "n3" else "n2"
        cluster.hactl("resource", "ban", "app", "--from", "n1", "--wait", "--timeout", "30s")
        cluster.hactl("resource", "move", "app", "--to", target, "--wait", "--timeout", "30s")
        assert cluster.where("service") == target
        assert f"move app to {target} (by " in cluster.hactl("explain", "service").stdout
        # A GitOps apply of the unchanged manifests leaves the intents alone.
        cluster.hactl("apply", "-f", str(cluster.workdir / "manifests.yaml"))
        assert intents(cluster) == ["ban/app/n1", "move/app"]
        cluster.signal(leader, signal.SIGTERM)
        assert cluster.wait_exit(leader, within=20) == 0
        status = cluster.wait_status(
            lambda s: s["leader"] not in (None, leader), within=15, what="a new leader"
        )
        assert status["resources"]["service"]["node"] == target
        cluster.hactl("wait", "--for", "converged", "--timeout", "15s")
        assert cluster.where("service") == target
        assert intents(cluster) == ["ban/app/n1", "move/app"]
        # Clearing lets the preference for n1 decide again (if n1 is still there).
        cluster.hactl("resource", "clear", "app", "--wait", "--timeout", "30s")
        assert intents(cluster) == []
        expected = "n1" if leader != "n1" else target
        assert cluster.where("service") == expected
        no_two_copies(cluster)


class TestRestartAndCleanup:
    """restart stops and starts in place; cleanup forgets failures and re-probes."""

    def test_restart(self, cluster: AgentCluster) -> None:
        before = len(cluster.actions("n1"))
        done = cluster.hactl("resource", "restart", "app", "--wait", "--timeout", "30s")
        assert "converged" in done.stdout
        assert cluster.actions("n1")[before:] == [
            ("stop", "service"),
            ("stop", "data"),
            ("start", "data"),
            ("start", "service"),
        ]
        assert intents(cluster) == [] and cluster.where("service") == "n1"
        wait_until(lambda: cluster.answering() == {"n1"}, within=5, what="service answering")
        no_two_copies(cluster)

    def test_cleanup_resets_failcounts(self, cluster: AgentCluster) -> None:
        fail = cluster.workdir / "fail-data"
        fail.touch()
        cluster.wait_status(
            lambda s: s["resources"]["data"]["failcount"]["n1"] >= 1, within=10, what="failure"
        )
        fail.unlink()
        cluster.hactl("wait", "--for", "resource/data=Started", "--timeout", "20s")
        done = cluster.hactl("resource", "cleanup", "data", "--wait", "--timeout", "30s")
        assert "cleanup data: recorded" in done.stdout
        status = cluster.status()
        assert status["resources"]["data"]["failcount"] == {"n1": 0, "n2": 0, "n3": 0}
        assert status["resources"]["data"]["node"] == "n1" and intents(cluster) == []
        no_two_copies(cluster)
