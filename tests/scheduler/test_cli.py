"""`hactl simulate` and `hactl explain` as an operator and a CI pipeline use them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli.simulate import explain, simulate
from reconciler.snapshot import ClusterSnapshot

pytestmark = pytest.mark.timeout(30)

MANIFESTS = """\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {name: demo}
spec: {autoFailback: true}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: node1}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: node2}
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: ip}
spec: {agent: "ocf:heartbeat:IPaddr2", params: {ip: 198.18.0.11}}
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: app}
spec: {agent: "ocf:heartbeat:Dummy"}
---
apiVersion: hactl/v1alpha1
kind: Group
metadata: {name: web}
spec: {resources: [ip, app]}
---
apiVersion: hactl/v1alpha1
kind: Location
metadata: {name: web-prefers-node1}
spec: {resource: web, node: node1, score: 100}
"""


@pytest.fixture
def manifests(tmp_path: Path) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(MANIFESTS)
    return path


def _run(command: object, *args: str) -> Result:
    return CliRunner().invoke(command, list(args), catch_exceptions=False)  # type: ignore[arg-type]


class TestSimulate:
    """simulate prints what the scheduler would do, for people and for pipelines."""

    def test_json_has_the_spec_shape(self, manifests: Path) -> None:
        result = _run(simulate, "-f", str(manifests), "-o", "json")
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        assert data["placements"] == {"app": "node1", "ip": "node1"}
        assert [(a["op"], a["resource"], a["node"]) for a in data["actions"]] == [
            ("start", "ip", "node1"),
            ("start", "app", "node1"),
        ]
        assert data["fence"] == []

    def test_a_node_down_is_fenced_before_recovery(self, manifests: Path) -> None:
        result = _run(
            simulate, "-f", str(manifests), "--running", "web@node1", "--node-down", "node1"
        )
        assert result.exit_code == 0, result.output
        summary = result.output.split("Transition Summary:")[1].split("Executing")[0]
        assert "Fence (reboot) node1" in summary
        assert "Move       ip" in summary and "node1 -> node2" in summary
        plan = result.output.split("Executing Cluster Transition:")[1].split("Revised")[0]
        assert plan.index("Fencing node1") < plan.index("ip               start on node2")

    def test_fail_with_count_reaching_the_threshold_moves(self, manifests: Path) -> None:
        text = MANIFESTS.replace(
            "spec: {autoFailback: true}", "spec: {defaults: {migrationThreshold: 2}}"
        )
        manifests.write_text(text)
        result = _run(
            simulate,
            "-f",
            str(manifests),
            "--running",
            "web@node1",
            "--fail",
            "app@node1:2",
            "-o",
            "json",
        )
        assert json.loads(result.output)["placements"] == {"app": "node2", "ip": "node2"}

    def test_scores_are_listed(self, manifests: Path) -> None:
        result = _run(simulate, "-f", str(manifests), "--scores")
        assert "group web allocation score on node1: 100" in result.output

    def test_a_saved_snapshot_replays_the_same_decision(
        self, manifests: Path, tmp_path: Path
    ) -> None:
        direct = _run(simulate, "-f", str(manifests), "--standby", "node1", "-o", "json")
        from reconciler.cli.simulate import ObservedFlags, build_snapshot

        snapshot, _ = build_snapshot(
            None, [str(manifests)], flags=ObservedFlags(standby=("node1",))
        )
        saved = tmp_path / "input.json"
        saved.write_text(snapshot.to_json())
        replayed = _run(simulate, str(saved), "-o", "json")
        assert json.loads(replayed.output) == json.loads(direct.output)
        assert ClusterSnapshot.from_json(saved.read_text()) == snapshot

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--running", "web-node1"], "is not RES@NODE[:ROLE]"),
            (["--running", "nope@node1"], "unknown resource 'nope'"),
            (["--running", "web@node9"], "unknown node 'node9'"),
            (["--running", "web@node1:Boss"], "role must be one of"),
            (["--fail", "app@node1:many"], "COUNT must be a positive integer"),
            (["--standby", "node7"], "unknown node 'node7'"),
        ],
    )
    def test_bad_input_is_one_line_and_exit_2(
        self, manifests: Path, args: list[str], message: str
    ) -> None:
        result = CliRunner().invoke(simulate, ["-f", str(manifests), *args])
        assert result.exit_code == 2
        assert message in result.output
        assert len(result.output.strip().splitlines()) == 1

    def test_a_broken_snapshot_file_is_a_usage_error(self, tmp_path: Path) -> None:
        bad = tmp_path / "bad.json"
        bad.write_text("{}}")
        result = CliRunner().invoke(simulate, [str(bad)])
        assert result.exit_code == 2
        assert "not a saved scheduler input" in result.output

    def test_without_manifests_an_empty_store_is_a_usage_error(self) -> None:
        result = CliRunner().invoke(simulate, ["--store", "memory://"])
        assert result.exit_code == 2
        assert "give manifests with -f" in result.output


class TestExplain:
    """explain shows every term per node with the manifest object and file:line behind it."""

    def test_terms_name_their_source(self, manifests: Path) -> None:
        result = _run(explain, "ip", "-f", str(manifests))
        assert result.exit_code == 0, result.output
        assert "runs on node1 with group web" in result.output
        assert "location node1" in result.output
        assert (
            "Location/web-prefers-node1 at" in result.output and "cluster.yaml:29" in result.output
        )

    def test_says_why_not_elsewhere(self, manifests: Path) -> None:
        result = _run(explain, "web", "-f", str(manifests), "--standby", "node1", "-o", "json")
        data = json.loads(result.output)
        assert data["nodes"] == ["node2"]
        assert data["notRunningOn"] == {"node1": "node1 is in standby"}
        assert data["scores"]["node1"]["total"] == "-INFINITY"

    def test_unknown_resource_is_exit_2(self, manifests: Path) -> None:
        result = CliRunner().invoke(explain, ["nope", "-f", str(manifests)])
        assert result.exit_code == 2
        assert result.output.strip() == "error: unknown resource 'nope'"
