"""Differential tests: hactl's scheduler against Pacemaker's own, crm_simulate 2.1.5.

NEEDS crm_simulate (Debian's pacemaker-cli-utils; `./dev test` installs it, and CI
runs these tests): skipped only when it is not installed.

The same snapshot goes to hactl's `schedule` and, exported by `hactl export cib`, to
`crm_simulate -R`; placements (resource → node and role) and fencing must agree
(tests/scheduler/pacemaker.py). Every known difference is a deliberate departure of
docs/scheduler.md with a golden case of its own: the random clusters steer around them
(tests/scheduler/differential_strategies.py), and `TestDepartures` checks that each is
still a difference — so the documentation cannot go stale in either direction.
"""

from __future__ import annotations

import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from reconciler.loader import load_paths
from reconciler.snapshot import ClusterSnapshot
from tests.scheduler.differential_strategies import NOW, clusters
from tests.scheduler.golden import case_names, load_case
from tests.scheduler.pacemaker import (
    CRM_SIMULATE,
    comparable_cib,
    compare,
    differences,
    hactl_outcome,
)

pytestmark = [
    pytest.mark.skipif(CRM_SIMULATE is None, reason="needs crm_simulate (pacemaker-cli-utils)"),
    pytest.mark.timeout(300),
]

MANIFESTS = Path(__file__).parents[2] / "manifests"

DEPARTURES = {
    "autofailback-off-colocated-primary": "autoFailback off is not passed on to a primary",
    "clone-negative-location-colocation": "a clone's negative score is not absolute",
    "colocation-advisory-chain": "advisory chains pass no preferences",
    "colocation-advisory-negative": "anti-colocated dependents never push their primary",
    "colocation-clone-dependent-pulls-primary": "a clone's stickiness pulls its primary",
    "colocation-small-negative-preference": "a small negative preference stays negative",
    "colocation-with-blocked-primary": "a dependent starts next to a blocked primary",
    "colocation-vs-stickiness": "anti-colocated dependents never push their primary",
    "colocation-with-group-pulls-group": "a group's dependents pull the group",
    "group-stopped-member-ban-ignored": "a disabled member's bans do not move its group",
    "maintenance-failed-first-blocks-then": "a failure in maintenance is not trusted",
    "maintenance-failed-stop-not-fenced": "a node in maintenance is not fenced",
    "no-quorum-failed-stop-not-fenced": "nothing is fenced without quorum",
    "node-unclean-member-no-stonith": "an unclean member without stonith is blocked",
    "order-duplicate-optional-mandatory": "every order between two actions applies",
    "order-first-blocked-on-lost-node": "a blocked resource counts as running",
    "order-first-in-maintenance": "a resource left alone counts as running",
    "promotable-location-without-role": "promotion counts promotion terms only",
    "promotable-placement-ignores-promotion-scores": "instances are placed by placement",
    "promotable-stickiness-keeps-promoted": "stickiness holds promotion",
    "promotable-tie-by-name": "promotion ties break by node name",
    "stickiness-tie-at-zero": "a sticky resource keeps its node on a tie at 0",
}
"""Golden cases where hactl deliberately decides otherwise than Pacemaker 2.1.5."""

SETTLED = {
    "order-unrunnable-no-load": "resources that cannot start do not count in load ties",
    "promotable-moved-instance-promoted": "a moved instance is promoted at once",
}
"""Departures the comparison settles: they differ only before it is normalized."""

DIFFERENTIAL = settings(
    max_examples=80,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.fixture
def workdir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="hactl-cib-") as path:
        yield Path(path)


class TestRandomClusters:
    """On random clusters within what both model, hactl places and fences like Pacemaker."""

    @DIFFERENTIAL
    @given(clusters())
    def test_same_placements_roles_and_fencing(self, snapshot: ClusterSnapshot) -> None:
        with tempfile.TemporaryDirectory(prefix="hactl-cib-") as path:
            found = differences(snapshot, NOW, workdir=Path(path))
        assert not found, "hactl vs pacemaker:\n" + "\n".join(found)


class TestGoldenCases:
    """Every golden case agrees with Pacemaker, unless it pins a documented departure."""

    @pytest.mark.parametrize("name", [n for n in case_names() if n not in DEPARTURES])
    def test_agrees(self, name: str, workdir: Path) -> None:
        snapshot, now = load_case(name)
        assert differences(snapshot, now, workdir=workdir) == []


class TestDepartures:
    """Each documented departure is still a difference (else its documentation is stale)."""

    @pytest.mark.parametrize("name", sorted(DEPARTURES))
    def test_differs(self, name: str, workdir: Path) -> None:
        snapshot, now = load_case(name)
        assert differences(snapshot, now, workdir=workdir), DEPARTURES[name]

    @pytest.mark.parametrize("name", sorted(SETTLED))
    def test_differs_before_the_comparison_settles_it(self, name: str, workdir: Path) -> None:
        snapshot, now = load_case(name)
        assert differences(snapshot, now, workdir=workdir, settle=False), SETTLED[name]

    def test_pacemaker_places_in_configuration_order(self, workdir: Path) -> None:
        """hactl places running resources first; Pacemaker 2.1.5 follows the CIB, which
        the export writes in hactl's order. In name order the two part ways."""
        snapshot, now = load_case("placement-order-running-first")
        cib = ET.fromstring(comparable_cib(snapshot))
        resources = cib.find("configuration/resources")
        assert resources is not None
        resources[:] = sorted(resources, key=lambda element: element.get("id", ""))
        by_name = ET.tostring(cib, encoding="unicode")
        hactl = hactl_outcome(snapshot, now)
        assert compare(hactl, comparable_cib(snapshot), workdir=workdir) == []
        assert compare(hactl, by_name, workdir=workdir)


def _demo(observed: dict[str, object]) -> ClusterSnapshot:
    return ClusterSnapshot.from_dict(
        {"observedAt": NOW, **observed}, declared=load_paths([MANIFESTS / "demo"])
    )


def _tutorial(
    resources: list[dict[str, str]] | None = None,
    *,
    nodes: dict[str, dict[str, object]] | None = None,
) -> ClusterSnapshot:
    """The tutorial cluster; both nodes reach the ping target, DRBD is UpToDate on both."""
    states: dict[str, dict[str, object]] = {
        n: {"attributes": {"pingd": 1000}} for n in ("node1", "node2")
    }
    for name, state in (nodes or {}).items():
        states[name] = {**states[name], **state}
    drbd = {"node1": 10000, "node2": 10000}
    return ClusterSnapshot.from_dict(
        {
            "observedAt": NOW,
            "nodes": states,
            "resources": resources or [],
            "promotionScores": {"apache-drbd": drbd, "mysql-drbd": drbd},
        },
        declared=load_paths([MANIFESTS / "tutorial"]),
    )


DEMO_RUNNING = [
    {"resource": m, "node": "node1"} for m in ("web-address", "web-content", "web-server")
] + [
    {"resource": "db", "node": "node2"},
    {"resource": "state", "node": "node1", "role": "Unpromoted"},
    {"resource": "state", "node": "node2", "role": "Promoted"},
    {"resource": "state", "node": "node3", "role": "Unpromoted"},
]
DEMO_SCORES = {"state": {"node1": 5, "node2": 10, "node3": 8}}
TUTORIAL_RUNNING = [
    *({"resource": m, "node": "node1"} for m in ("apache-ip", "apache-fs", "apache-service")),
    *({"resource": m, "node": "node2"} for m in ("mysql-ip", "mysql-fs", "mysql-service")),
    {"resource": "apache-drbd", "node": "node1", "role": "Promoted"},
    {"resource": "apache-drbd", "node": "node2", "role": "Unpromoted"},
    {"resource": "mysql-drbd", "node": "node2", "role": "Promoted"},
    {"resource": "mysql-drbd", "node": "node1", "role": "Unpromoted"},
]
TUTORIAL_FAILED_OVER = [
    *(
        {"resource": r["resource"], "node": "node2"}
        for r in TUTORIAL_RUNNING
        if "drbd" not in r["resource"]
    ),
    {"resource": "apache-drbd", "node": "node2", "role": "Promoted"},
    {"resource": "apache-drbd", "node": "node1", "role": "Unpromoted"},
    {"resource": "mysql-drbd", "node": "node2", "role": "Promoted"},
    {"resource": "mysql-drbd", "node": "node1", "role": "Unpromoted"},
]
LOST: dict[str, object] = {"online": False, "unclean": True}

SCENARIOS = {
    "demo: declared, nothing runs yet": lambda: _demo({"promotionScores": DEMO_SCORES}),
    "demo: steady state": lambda: _demo(
        {"resources": DEMO_RUNNING, "promotionScores": DEMO_SCORES}
    ),
    "demo: node2 (db, promoted state) killed": lambda: _demo(
        {"nodes": {"node2": LOST}, "resources": DEMO_RUNNING, "promotionScores": DEMO_SCORES}
    ),
    "demo: web-server failed 3 times on node1": lambda: _demo(
        {
            "resources": DEMO_RUNNING,
            "promotionScores": DEMO_SCORES,
            "failcounts": [
                {"resource": "web-server", "node": "node1", "count": 3, "lastFailure": NOW}
            ],
        }
    ),
    "tutorial: declared, nothing runs yet": lambda: _tutorial(),
    "tutorial: steady state": lambda: _tutorial(TUTORIAL_RUNNING),
    "tutorial: node1 killed": lambda: _tutorial(TUTORIAL_RUNNING, nodes={"node1": LOST}),
    "tutorial: node1 back after failover (autoFailback off)": lambda: _tutorial(
        TUTORIAL_FAILED_OVER
    ),
    "tutorial: node2 loses connectivity": lambda: _tutorial(
        TUTORIAL_RUNNING, nodes={"node2": {"attributes": {"pingd": 0}}}
    ),
}


class TestFixedScenarios:
    """The shipped example clusters, steady and after failures, as Pacemaker runs them."""

    @pytest.mark.parametrize("name", sorted(SCENARIOS))
    def test_agrees(self, name: str, workdir: Path) -> None:
        snapshot = SCENARIOS[name]()
        assert differences(snapshot, NOW, workdir=workdir) == []

    def test_killing_a_node_fences_it_and_recovers_elsewhere(self, workdir: Path) -> None:
        snapshot = SCENARIOS["tutorial: node1 killed"]()
        outcome = hactl_outcome(snapshot, NOW)
        assert outcome.fence == ("node1",)
        assert outcome.placements["apache-service"] == (("node2", "Started"),)
        assert differences(snapshot, NOW, workdir=workdir) == []
