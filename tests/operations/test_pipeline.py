"""The CI-pipeline story against three real agents: drain a node, patch, bring it back.

A group of a Dummy and the witness service prefers n1. `hactl node standby n1 --wait`
must return once n1 runs nothing and the service answers elsewhere; a GitOps apply of
the unchanged manifests (which say `standby: false`) must leave the standby alone;
`hactl node online n1 --wait` brings the service back (autoFailback). The witness log,
written by the service itself and never read by the cluster, must never show two
nodes answering at once.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time

from tests.harness import HACTL, AgentCluster
from tests.waiting import wait_until
from tests.witness import overlaps


class TestDrainAndReturn:
    """standby --wait drains a node, an apply keeps it drained, online brings it back."""

    def test_pipeline(self, cluster: AgentCluster) -> None:
        log = cluster.workdir / "witness.log"
        drained = cluster.hactl("node", "standby", "n1", "--wait", "--timeout", "30s")
        assert "node n1 is drained" in drained.stdout
        status = cluster.status()
        assert status["nodes"]["n1"]["state"] == "standby"
        target = status["resources"]["service"]["node"]
        assert target in ("n2", "n3")
        assert status["resources"]["data"]["node"] == target
        assert cluster.running_on("data") == [target]
        wait_until(lambda: cluster.answering() == {target}, within=5, what="service elsewhere")

        # The GitOps pipeline re-applies the manifests (standby: false) meanwhile.
        cluster.hactl("apply", "-f", str(cluster.workdir / "manifests.yaml"))
        assert cluster.hactl("diff", "-f", str(cluster.workdir / "manifests.yaml")).stdout == ""
        waited = cluster.hactl("wait", "--for", "converged", "--timeout", "10s")
        assert "converged" in waited.stdout
        assert cluster.status()["nodes"]["n1"]["state"] == "standby"
        assert cluster.answering() == {target}

        back = cluster.hactl("node", "online", "n1", "--wait", "--timeout", "30s")
        assert "converged" in back.stdout
        status = cluster.status()
        assert status["nodes"]["n1"]["state"] == "online"
        assert status["resources"]["service"]["node"] == "n1"
        wait_until(lambda: cluster.answering() == {"n1"}, within=5, what="service back on n1")
        time.sleep(0.3)  # let the witness run on: a second copy would show up here
        assert overlaps(log) == []
        assert cluster.running_on("data") == ["n1"]
        assert status["intents"] == []

    def test_status_and_get_show_the_intent(self, cluster: AgentCluster) -> None:
        cluster.hactl("node", "standby", "n2")
        status = json.loads(cluster.hactl("status", "-o", "json").stdout)
        (intent,) = status["intents"]
        assert intent["what"] == "node n2 standby" and intent["by"]
        listed = json.loads(cluster.hactl("get", "intents", "-o", "json").stdout)
        assert [i["name"] for i in listed["items"]] == ["standby/n2"]
        assert "standby" in cluster.hactl("status").stdout


class TestClusterMaintenance:
    """Cluster maintenance keeps monitoring and stops acting: nothing moves, nothing starts."""

    def test_maintenance_leaves_resources_alone(self, cluster: AgentCluster) -> None:
        cluster.hactl("maintenance", "on", "--wait", "--timeout", "10s")
        assert cluster.status()["maintenance"] is True
        # A standby during maintenance must not move anything.
        cluster.hactl("node", "standby", "n1")
        ended = cluster.hactl("wait", "--for", "node/n1=drained", "--timeout", "5s", check=False)
        assert ended.returncode == 1 and "nothing will move it" in ended.stderr
        assert cluster.answering() == {"n1"}
        cluster.hactl("maintenance", "off")
        cluster.hactl("wait", "--for", "node/n1=drained", "--timeout", "30s")
        assert overlaps(cluster.workdir / "witness.log") == []


class TestEventStream:
    """What the cluster did is in `hactl events`, and `--follow` streams it as it happens."""

    def test_follow_a_drain(self, cluster: AgentCluster) -> None:
        scope = ["--store", cluster.store_url, "--cluster", cluster.cluster]
        follower = subprocess.Popen(
            [*HACTL, *scope, "events", "--follow", "-o", "json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        lines: queue.Queue[str] = queue.Queue()
        reader = threading.Thread(
            target=lambda: [lines.put(line) for line in follower.stdout or ()], daemon=True
        )
        reader.start()
        seen: list[dict[str, object]] = []
        try:
            cluster.hactl("node", "standby", "n1", "--wait", "--timeout", "30s")
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                try:
                    seen.append(json.loads(lines.get(timeout=deadline - time.monotonic())))
                except queue.Empty:
                    break
                if any(e["kind"] == "action.stop" and e["resource"] == "data" for e in seen):
                    break
        finally:
            follower.terminate()
            follower.wait(timeout=10)
            reader.join(timeout=5)
        kinds = [(e["kind"], e.get("resource"), e.get("node")) for e in seen]
        stops = [k for k in kinds if k[0] == "action.stop" and k[2] == "n1"]
        assert stops[:2] == [("action.stop", "service", "n1"), ("action.stop", "data", "n1")]
        recorded = kinds.index(("intent.recorded", None, "n1"))
        assert recorded < kinds.index(("action.stop", "service", "n1"))

    def test_history_after_the_fact(self, cluster: AgentCluster) -> None:
        text = cluster.hactl("events").stdout
        assert "leader.elected" in text
        assert "start data on n1: ok" in text and "start service on n1: ok" in text
