"""schedule() as the leader and the CLI rely on it, beyond the golden cases."""

from __future__ import annotations

import pytest

from reconciler.model.declared import DeclaredState
from reconciler.scheduler import schedule
from reconciler.scheduler.outcome import predicted
from reconciler.snapshot import ClusterSnapshot, Failcount, NodeState, ResourceInstance
from tests.scheduler.strategies import doc

pytestmark = pytest.mark.timeout(10)


def _snapshot(
    *extra: object, cluster: dict[str, object] | None = None, **observed: object
) -> ClusterSnapshot:
    docs = [
        doc("Cluster", "c", cluster or {}),
        doc("Node", "n1"),
        doc("Node", "n2"),
        doc("Resource", "web", {"agent": "ocf:heartbeat:apache"}),
        *extra,
    ]
    observed.setdefault("nodes", {"n1": NodeState(), "n2": NodeState()})
    return ClusterSnapshot(declared=DeclaredState.of(docs), **observed)  # type: ignore[arg-type]


class TestUnknownNodes:
    """A declared node the snapshot says nothing about is never assumed empty."""

    def test_it_is_fenced_before_anything_starts(self) -> None:
        transition = schedule(_snapshot(nodes={"n1": NodeState()}), 0.0)
        assert transition.fence == ("n2",)
        start = next(a for a in transition.actions if a.op == "start")
        assert transition.actions[0].op == "fence" and 0 in start.after


class TestFailureTimeout:
    """Failures expire at last failure + failureTimeout, and the transition says when."""

    def _failed(self, now: float) -> tuple[ClusterSnapshot, float]:
        snapshot = _snapshot(
            cluster={
                "stonith": {"enabled": False},
                "defaults": {"migrationThreshold": 1, "failureTimeout": "60s"},
            },
            resources=(ResourceInstance("web", "n2"),),
            failcounts=(Failcount("web", "n1", 1, 100.0),),
        )
        return snapshot, now

    def test_recheck_at_is_the_expiry(self) -> None:
        assert schedule(*self._failed(159.0)).recheck_at == 160.0

    def test_a_failure_expires_exactly_at_its_timeout(self) -> None:
        transition = schedule(*self._failed(160.0))
        assert transition.recheck_at is None
        assert "failcount" not in " ".join(t.text for t in transition.explanations["web"].terms)

    def test_an_unexpired_failure_bans_the_node(self) -> None:
        transition = schedule(*self._failed(159.0))
        assert any(
            t.score < 0 and "failcount" in t.text for t in transition.explanations["web"].terms
        )


class TestMachineReadableOutput:
    """`hactl simulate -o json` has SPEC §3's shape."""

    def test_placements_actions_and_fence(self) -> None:
        transition = schedule(_snapshot(cluster={"stonith": {"enabled": False}}), 0.0)
        placement = transition.placement("web")
        assert placement is not None and (placement.node, placement.role) == ("n1", "Started")
        data = transition.to_dict()
        assert data["placements"] == {"web": "n1"}
        assert data["actions"][0] | {"after": [], "id": 0} == {
            "id": 0,
            "op": "start",
            "resource": "web",
            "node": "n1",
            "after": [],
            "reason": "placed on n1",
        }
        assert data["fence"] == []


class TestPredictedOutcome:
    """The state a transition leads to, if every action succeeds."""

    def test_a_fenced_node_is_clean_and_empty_afterwards(self) -> None:
        snapshot = _snapshot(
            nodes={"n1": NodeState(online=False, unclean=True), "n2": NodeState()},
            resources=(ResourceInstance("web", "n1"),),
        )
        after = predicted(snapshot, schedule(snapshot, 0.0))
        assert after.nodes["n1"] == NodeState(online=False, unclean=False)
        assert after.resources == (ResourceInstance("web", "n2"),)
        assert schedule(after, 0.0).actions == ()

    def test_an_instance_reported_as_started_is_promoted(self) -> None:
        clone = doc(
            "Resource",
            "state",
            {"agent": "ocf:pacemaker:Stateful", "clone": {"promotable": True}},
        )
        snapshot = _snapshot(clone, resources=(ResourceInstance("state", "n1"),))
        transition = schedule(snapshot, 0.0)
        assert any(a.op == "promote" for a in transition.actions)
        after = predicted(snapshot, transition)
        assert ResourceInstance("state", "n1", "Promoted") in after.resources
