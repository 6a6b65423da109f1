"""`to_cib` and `hactl export cib`: the snapshot as a Pacemaker CIB.

What crm_simulate makes of the export is tested in test_differential.py; these tests
pin the document itself (and need no Pacemaker, except the schema check).
"""

from __future__ import annotations

import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from click.testing import CliRunner

from reconciler.cib import clone_id, name_of, resource_id, to_cib
from reconciler.cli.main import build
from reconciler.loader import load_paths
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Document
from reconciler.snapshot import ClusterSnapshot, Failcount, NodeState, ResourceInstance
from tests.scheduler.strategies import doc

MANIFESTS = Path(__file__).parents[2] / "manifests"


def _snapshot(*docs: Document, **observed: object) -> ClusterSnapshot:
    return ClusterSnapshot.from_dict(observed, declared=DeclaredState.of(docs))


def _cib(snapshot: ClusterSnapshot) -> ET.Element:
    return ET.fromstring(to_cib(snapshot))


def _nvpairs(element: ET.Element | None) -> dict[str, str]:
    assert element is not None
    return {nv.get("name", ""): nv.get("value", "") for nv in element.iter("nvpair")}


class TestIds:
    """Ids are valid XML ids, unique, and read back as hactl names."""

    def test_a_name_starting_with_a_digit_gets_an_underscore(self) -> None:
        assert resource_id("9db") == "_9db"
        assert name_of("_9db:1") == "9db"
        assert name_of(clone_id("web").removesuffix("_clone")) == "web"

    def test_every_id_is_unique(self) -> None:
        snapshot = _snapshot(
            doc("Node", "n1"),
            doc("Resource", "meta", {"agent": "ocf:heartbeat:Dummy"}),
            doc("Resource", "1st", {"agent": "ocf:heartbeat:Dummy", "params": {"a": 1}}),
            doc("FenceDevice", "meta", {"driver": "fence_x", "nodes": ["n1"]}),
            doc("Location", "meta", {"resource": "meta", "node": "n1", "score": 5}),
        )
        ids = [e.get("id") for e in _cib(snapshot).iter() if e.get("id") and e.tag != "node"]
        assert len(ids) == len(set(ids))
        assert "_1st" in ids and "stonith_meta" in ids


class TestConfiguration:
    """Each kind maps onto the Pacemaker element that means the same thing."""

    def test_agents_params_ops_and_secrets(self) -> None:
        snapshot = _snapshot(
            doc("Node", "n1"),
            doc(
                "Resource",
                "db",
                {
                    "agent": "hactl:Dummy",
                    "params": {"password": "s3cret", "port": 5432},
                    "ops": [{"name": "stop", "onFail": "restart"}],
                },
            ),
        )
        primitive = _cib(snapshot).find(".//primitive[@id='db']")
        assert primitive is not None
        assert (primitive.get("class"), primitive.get("provider"), primitive.get("type")) == (
            "ocf",
            "hactl",
            "Dummy",
        )
        assert _nvpairs(primitive.find("instance_attributes")) == {
            "password": "<redacted>",
            "port": "5432",
        }
        stop = primitive.find("operations/op")
        assert stop is not None and stop.get("on-fail") == "fence"  # a stop fences or blocks

    def test_autofailback_off_is_infinite_stickiness(self) -> None:
        snapshot = _snapshot(doc("Cluster", "c", {"autoFailback": False}), doc("Node", "n1"))
        defaults = _cib(snapshot).find("configuration/rsc_defaults")
        assert _nvpairs(defaults) == {"resource-stickiness": "INFINITY"}

    def test_promotable_clone_and_constraints(self) -> None:
        snapshot = _snapshot(
            doc("Node", "n1"),
            doc(
                "Resource",
                "drbd",
                {"agent": "ocf:linbit:drbd", "clone": {"max": 2, "promotable": True}},
            ),
            doc("Resource", "fs", {"agent": "ocf:heartbeat:Filesystem"}),
            doc(
                "Colocation",
                "fs-on-primary",
                {"resource": "fs", "with": "drbd", "score": "INFINITY", "withRole": "Promoted"},
            ),
            doc(
                "Location",
                "ping",
                {
                    "resource": "fs",
                    "rules": [
                        {"attribute": "pingd", "op": "lt", "value": "1", "score": "-INFINITY"},
                        {"attribute": "site", "op": "eq", "value": "east", "score": 10},
                    ],
                },
            ),
        )
        cib = _cib(snapshot)
        clone = cib.find(".//clone[@id='drbd_clone']")
        assert clone is not None
        assert _nvpairs(clone.find("meta_attributes"))["promotable"] == "true"
        colocation = cib.find(".//rsc_colocation")
        assert colocation is not None
        assert colocation.get("with-rsc") == "drbd_clone"
        assert colocation.get("with-rsc-role") == "Promoted"
        types = [e.get("type") for e in cib.iter("expression")]
        assert types == ["number", "string"]


class TestStatus:
    """Observed state is written as the operation history that leads to it."""

    def _history(self, cib: ET.Element, node: str, rsc: str) -> list[tuple[str, str, str]]:
        lrm = cib.find(f".//node_state[@id='{node}']//lrm_resource[@id='{rsc}']")
        assert lrm is not None
        return [
            (op.get("operation", ""), op.get("interval", ""), op.get("rc-code", ""))
            for op in lrm.iter("lrm_rsc_op")
        ]

    def test_roles_failures_and_membership(self) -> None:
        snapshot = ClusterSnapshot(
            declared=DeclaredState.of(
                [
                    doc("Node", "n1"),
                    doc("Node", "n2"),
                    doc("Node", "n3"),
                    doc(
                        "Resource",
                        "db",
                        {
                            "agent": "ocf:pacemaker:Stateful",
                            "clone": {"promotable": True},
                            "ops": [{"name": "monitor", "interval": "10s", "role": "Promoted"}],
                        },
                    ),
                    doc("Resource", "ip", {"agent": "ocf:heartbeat:IPaddr2"}),
                ]
            ),
            nodes={
                "n1": NodeState(),
                "n2": NodeState(online=False, unclean=True),
                "n3": NodeState(online=False),
            },
            resources=(
                ResourceInstance("db", "n1", "Promoted"),
                ResourceInstance("ip", "n1", failed="monitor"),
                ResourceInstance("ip", "n3"),
            ),
            failcounts=(Failcount("ip", "n1", 2, 100.0),),
            promotion_scores={"db": {"n1": 10}},
            observed_at=200.0,
        )
        cib = _cib(snapshot)
        assert cib.get("execution-date") == "200"
        assert self._history(cib, "n1", "db") == [
            ("start", "0", "0"),
            ("promote", "0", "0"),
            ("monitor", "10000", "8"),
        ]
        # A monitor failure without a declared monitor is a failed probe (rc 1: active).
        assert ("monitor", "0", "1") in self._history(cib, "n1", "ip")
        attributes = _nvpairs(cib.find(".//node_state[@id='n1']/transient_attributes"))
        assert attributes == {
            "fail-count-ip#monitor_0": "2",
            "last-failure-ip#monitor_0": "100",
            "master-db": "10",
        }
        lost = cib.find(".//node_state[@id='n2']")
        assert lost is not None and (lost.get("in_ccm"), lost.get("join")) == ("false", "member")
        down = cib.find(".//node_state[@id='n3']")
        assert down is not None and down.get("expected") == "down"
        assert down.find("lrm") is None  # a cleanly stopped node runs nothing


class TestDocument:
    """The export is deterministic, and Pacemaker accepts it."""

    def test_same_snapshot_same_bytes(self) -> None:
        declared = load_paths([MANIFESTS / "tutorial"])
        snapshot = ClusterSnapshot.from_dict({}, declared=declared)
        assert to_cib(snapshot) == to_cib(ClusterSnapshot.from_dict({}, declared=declared))

    @pytest.mark.skipif(shutil.which("crm_verify") is None, reason="needs crm_verify")
    @pytest.mark.parametrize("example", ["demo", "tutorial"])
    def test_crm_verify_accepts_the_examples(self, example: str, tmp_path: Path) -> None:
        path = tmp_path / "cib.xml"
        declared = load_paths([MANIFESTS / example])
        path.write_text(to_cib(ClusterSnapshot.from_dict({}, declared=declared)))
        result = subprocess.run(
            ["crm_verify", "-x", str(path)], capture_output=True, text=True, check=False
        )
        assert "error" not in result.stderr.lower(), result.stderr


class TestExportCommand:
    """`hactl export cib` takes simulate's inputs and prints the CIB."""

    def test_prints_the_cib_with_the_observed_flags(self) -> None:
        result = CliRunner().invoke(
            build(),
            [
                "export",
                "cib",
                "-f",
                str(MANIFESTS / "demo"),
                "--running",
                "web@node1",
                "--node-down",
                "node1",
            ],
        )
        assert result.exit_code == 0, result.output
        cib = ET.fromstring(result.output)
        lost = cib.find(".//node_state[@id='node1']")
        assert lost is not None and lost.find(".//lrm_resource[@id='web-server']") is not None

    def test_an_unknown_node_is_a_usage_error(self) -> None:
        result = CliRunner().invoke(
            build(), ["export", "cib", "-f", str(MANIFESTS / "demo"), "--node-down", "nodeX"]
        )
        assert result.exit_code == 2
