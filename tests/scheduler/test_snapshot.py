"""ClusterSnapshot: the scheduler's saved input, to and from JSON."""

from __future__ import annotations

import json

import pytest

from reconciler.model.declared import DeclaredState, Source
from reconciler.snapshot import ClusterSnapshot, Failcount, NodeState, ResourceInstance
from tests.scheduler.strategies import doc

pytestmark = pytest.mark.timeout(10)


def _declared() -> DeclaredState:
    docs = [
        doc("Cluster", "c", {"defaults": {"stickiness": 100, "failureTimeout": "1m"}}),
        doc("Node", "n1", {"attributes": {"rack": "a"}}),
        doc("Node", "n2"),
        doc("Resource", "web", {"agent": "ocf:heartbeat:apache", "meta": {"stickiness": 5}}),
        doc("Colocation", "c1", {"resource": "web", "with": "web2", "score": "INFINITY"}),
        doc("Resource", "web2", {"agent": "ocf:heartbeat:apache"}),
    ]
    return DeclaredState.of(docs, {("Resource", "web"): Source("web.yaml", 3)})


class TestJsonRoundTrip:
    """A saved snapshot reads back equal, so a replay schedules exactly the same input."""

    def test_round_trip_is_exact(self) -> None:
        snapshot = ClusterSnapshot(
            declared=_declared(),
            nodes={
                "n1": NodeState(attributes={"pingd": 100}),
                "n2": NodeState(False, True, lost_at=5.0),
            },
            resources=(ResourceInstance("web", "n1", "Started", "monitor"),),
            failcounts=(Failcount("web", "n1", 2, 1000.5, "monitor"),),
            promotion_scores={"web2": {"n1": -1_000_000}},
            quorum=False,
            observed_at=1234.5,
        )
        again = ClusterSnapshot.from_json(snapshot.to_json())
        assert again == snapshot
        assert again.declared.source_of("Resource", "web") == Source("web.yaml", 3)

    def test_the_json_is_plain_data(self) -> None:
        data = json.loads(ClusterSnapshot(declared=_declared()).to_json())
        assert {d["kind"] for d in data["declared"]} >= {"Cluster", "Node", "Resource"}
        assert data["quorum"] is True


class TestObservedFiles:
    """Hand-written observed state lists only the exceptions."""

    def test_declared_nodes_missing_from_the_file_are_online(self) -> None:
        snapshot = ClusterSnapshot.from_dict(
            {"nodes": {"n2": {"online": False}}}, declared=_declared()
        )
        assert snapshot.nodes["n1"] == NodeState()
        assert snapshot.nodes["n2"].online is False

    def test_scores_may_be_written_as_infinity(self) -> None:
        data = {
            "failcounts": [{"resource": "web", "node": "n1", "count": "INFINITY"}],
            "promotionScores": {"web2": {"n1": "-INFINITY"}},
        }
        snapshot = ClusterSnapshot.from_dict(data, declared=_declared())
        assert snapshot.failcounts[0].count == 1_000_000
        assert snapshot.promotion_scores["web2"]["n1"] == -1_000_000

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            ({"resources": [{"resource": "web", "node": "n1", "role": "Master"}]}, "role"),
            ({"resources": [{"resource": "web", "node": "n1", "colour": "red"}]}, "unknown field"),
            ({"nodes": {"n1": {"online": "yes"}}}, "true or false"),
            ({"failcounts": [{"resource": "web", "node": "n1", "count": "lots"}]}, "INFINITY"),
            ({"declared": []}, "must not carry"),
        ],
    )
    def test_malformed_observed_state_says_what_is_wrong(
        self, data: dict[str, object], message: str
    ) -> None:
        with pytest.raises(ValueError, match=message):
            ClusterSnapshot.from_dict(data, declared=_declared())

    def test_not_json_is_refused(self) -> None:
        with pytest.raises(ValueError, match="not JSON"):
            ClusterSnapshot.from_json("{nope")


class TestInstances:
    """What counts as active."""

    def test_a_failed_stop_counts_as_active_even_when_reported_stopped(self) -> None:
        assert ResourceInstance("web", "n1", "Stopped", "stop").active
        assert not ResourceInstance("web", "n1", "Stopped", "start").active
