"""Properties that must hold for any configuration (hypothesis-generated clusters)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest
from hypothesis import HealthCheck, given, settings

from reconciler.model.values import INFINITY
from reconciler.scheduler import Transition, schedule
from reconciler.scheduler.outcome import predicted
from reconciler.snapshot import ClusterSnapshot
from tests.scheduler.strategies import snapshots

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
pytestmark = pytest.mark.timeout(300)


def _nodes(transition: Transition, name: str, snapshot: ClusterSnapshot) -> set[str]:
    """Where a resource or group ends up (a group: its members' nodes)."""
    group = snapshot.declared.groups.get(name)
    names = group.spec.resources if group is not None else [name]
    return {p.node for p in transition.placements if p.resource in names and p.node}


class TestPlacementProperties:
    """Placement never breaks a hard rule, whatever the configuration."""

    @PROPERTY
    @given(snapshots())
    def test_nothing_is_placed_on_a_node_with_a_negative_score(
        self, snapshot: ClusterSnapshot
    ) -> None:
        transition = schedule(snapshot, 0.0)
        for placement in transition.placements:
            if placement.node is None:
                continue
            explanation = transition.explanations[placement.resource]
            score = explanation.score_on(placement.node, transition.node_terms)
            assert score >= 0, (placement, explanation)

    @PROPERTY
    @given(snapshots())
    def test_mandatory_colocations_hold(self, snapshot: ClusterSnapshot) -> None:
        transition = schedule(snapshot, 0.0)
        for colocation in snapshot.declared.colocations.values():
            spec = colocation.spec
            if abs(spec.score) < INFINITY:
                continue
            dependent = _nodes(transition, spec.resource, snapshot)
            primary = _nodes(transition, spec.with_, snapshot)
            if spec.with_role == "Promoted":
                primary = {
                    p.node
                    for p in transition.placements
                    if p.resource == spec.with_ and p.role == "Promoted" and p.node
                }
            if spec.score > 0 and dependent:
                assert dependent <= primary, (colocation, transition.placements)
            if spec.score < 0:
                assert not dependent & primary, (colocation, transition.placements)


class TestPlanProperties:
    """The plan is deterministic, safe to run step by step, and complete."""

    @PROPERTY
    @given(snapshots())
    def test_the_plan_is_deterministic(self, snapshot: ClusterSnapshot) -> None:
        first = schedule(snapshot, 0.0).to_dict()
        shuffled = list(snapshot.resources)
        random.Random(7).shuffle(shuffled)
        again = schedule(replace(snapshot, resources=tuple(shuffled)), 0.0).to_dict()
        assert first == again

    @PROPERTY
    @given(snapshots())
    def test_a_non_clone_resource_is_never_active_twice(self, snapshot: ClusterSnapshot) -> None:
        """Run the plan in order: no start while another copy may still run."""
        transition = schedule(snapshot, 0.0)
        stonith = snapshot.declared.cluster.spec.stonith.enabled
        clones = {n for n, r in snapshot.declared.resources.items() if r.spec.clone is not None}
        active: dict[str, set[str]] = {}
        for inst in snapshot.resources:
            state = snapshot.nodes[inst.node]
            # A cleanly offline node runs nothing; a lost one without stonith is assumed
            # down (the documented, accepted risk); a lost one with stonith may run it.
            if inst.resource not in clones and (state.online or (state.unclean and stonith)):
                active.setdefault(inst.resource, set()).add(inst.node)
        for action in transition.actions:
            if action.op == "fence":
                for nodes in active.values():
                    nodes.discard(action.node)
            elif action.resource is not None and action.resource not in clones:
                nodes = active.setdefault(action.resource, set())
                if action.op == "stop":
                    nodes.discard(action.node)
                elif action.op == "start":
                    assert not nodes, f"{action} while active on {nodes}"
                    nodes.add(action.node)

    @PROPERTY
    @given(snapshots(min_stickiness=1, acyclic=True))
    def test_after_the_plan_nothing_is_left_to_do(self, snapshot: ClusterSnapshot) -> None:
        """With stickiness and no dependency cycle, one transition reaches a fixpoint.

        (Stickiness 0 lets ties rebalance, as in Pacemaker; a cycle of colocations and
        orders may take a second transition to settle: docs/scheduler.md.)
        """
        transition = schedule(snapshot, 0.0)
        after = predicted(snapshot, transition)
        again = schedule(after, 0.0)
        assert [str(a) for a in again.actions] == [], [str(a) for a in transition.actions]
