"""Hypothesis strategies for the differential tests: clusters both schedulers model.

Like strategies.py, plus what a comparison with Pacemaker needs: a fence device
whenever stonith is enabled, a promotion score for every promotable instance on every
node (agents report them; Pacemaker promotes nothing without one), node attributes with
rule locations, targetRole Stopped, failed monitors and stops with their failcounts,
failure timeouts, nodes in standby, maintenance, offline or lost, no quorum.

The generator steers around the deliberate departures of docs/scheduler.md
("Differences found by crm_simulate"), each pinned by a golden case of its own:

- advisory colocations are strong (500,000) and never part of a chain: Pacemaker
  turns a small negative preference scaled below 1 into +1, and passes preferences
  along every chain;
- stickiness is 0, 1 or 30, which no sum of generated scores cancels: on a tie at 0
  hactl keeps a sticky resource where it runs, Pacemaker balances load;
- an anti-colocated dependent, a dependent of a group and a clone that is a dependent
  have no preferences (no locations, nothing running): Pacemaker pushes the first's
  onto its primary, negated, ignores the second's and the third's stickiness;
- a clone has no finite negative and no INFINITY location: Pacemaker never places an
  instance where the clone's own score is negative; promotion ties at INFINITY break
  by instance number in Pacemaker, by name in hactl;
- at most one order per pair: Pacemaker keeps only the first of two;
- autoFailback off (stickiness INFINITY in the CIB) comes without finite negative
  scores, colocations and promotable clones: hactl's "stay where allowed" differs from
  an infinite stickiness there;
- a promotable clone has an instance per node, stickiness 0, is a dependent only of
  mandatory colocations, is located only with role Promoted, and its agents report far
  apart scores: Pacemaker adds placement scores but no stickiness to promotion, and
  promotion scores to placement;
- without quorum or with a node in maintenance, orders are Optional: a resource left
  alone there counts as running for a Mandatory order in hactl, not in Pacemaker;
- failures happen only with quorum and outside maintenance (without quorum hactl
  fences nothing, Pacemaker fences a member of its partition; a node in maintenance is
  never fenced by hactl, and a failure there is not trusted); a stop fails only with
  stonith enabled: around a resource blocked by a failed stop, Pacemaker's colocations
  and load ties differ from hactl's (colocation-with-blocked-primary);
- a group's members run together (on one node, a leading part of the group), and none
  is disabled: Pacemaker moves a group for the bans of a member that cannot run.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Document, OpName
from reconciler.snapshot import (
    ClusterSnapshot,
    Failcount,
    NodeState,
    ObservedRole,
    ResourceInstance,
)
from tests.scheduler.strategies import doc

NOW = 1_700_000_000.0
"""The time every generated snapshot is observed and scheduled at."""

SCORES: list[int | str] = ["-INFINITY", -100, -10, 10, 100, "INFINITY"]
STRONG_ADVISORY = 500_000
PROMOTION_SCORES = [-5000, 0, 5000, 10_000, 15_000]
"""Far apart: other promotion terms never tie two nodes (see the module docstring)."""
MONITOR = [{"name": "monitor", "interval": "10s", "timeout": "20s"}]


@st.composite
def clusters(draw: st.DrawFn) -> ClusterSnapshot:
    """A random cluster: 2-4 nodes, up to 6 primitives, maybe a group and a clone."""
    nodes = [f"n{i}" for i in range(1, draw(st.integers(2, 4)) + 1)]
    primitives = [f"r{i}" for i in range(1, draw(st.integers(1, 6)) + 1)]
    stonith = draw(st.booleans())
    auto_failback = draw(st.booleans())
    scores = (
        SCORES
        if auto_failback
        else [s for s in SCORES if not isinstance(s, int)]
        + [
            10,
            100,
        ]
    )
    docs = [_cluster(draw, stonith=stonith, auto_failback=auto_failback)]
    for node in nodes:
        attributes: dict[str, Any] = {"rack": draw(st.sampled_from(["a", "b"]))}
        if draw(st.booleans()):
            attributes["pingd"] = draw(st.sampled_from([0, 1, 100]))
        docs.append(doc("Node", node, {"attributes": attributes}))
    if stonith:
        docs.append(doc("FenceDevice", "power", {"driver": "fence_ipmilan", "nodes": nodes}))
    for index, r in enumerate(primitives):
        primitive: dict[str, Any] = {"agent": "ocf:heartbeat:Dummy", "ops": MONITOR}
        if index >= 3 and draw(st.integers(0, 9)) == 0:  # never a group member
            primitive["meta"] = {"targetRole": "Stopped"}
        docs.append(doc("Resource", r, primitive))

    members: list[str] = []
    targets = list(primitives)
    if len(primitives) >= 3 and draw(st.booleans()):
        members = primitives[: draw(st.integers(2, 3))]
        docs.append(doc("Group", "g", {"resources": members}))
        targets = ["g"] + [r for r in primitives if r not in members]
    clone: str | None = None
    promotable = False
    clone_max = len(nodes)
    if draw(st.booleans()):
        clone = "c1"
        promotable = auto_failback and draw(st.booleans())
        spec: dict[str, Any] = {"promotable": promotable}
        if not promotable and draw(st.booleans()):
            clone_max = draw(st.integers(1, len(nodes)))
            spec["max"] = clone_max
        body: dict[str, Any] = {"agent": "ocf:pacemaker:Stateful", "clone": spec, "ops": MONITOR}
        if promotable:
            body["meta"] = {"stickiness": 0}
        docs.append(doc("Resource", clone, body))
        targets.append(clone)

    colocations = (
        draw(_colocations(targets, promotable=clone if promotable else None))
        if auto_failback
        else []
    )
    calm = {
        c["resource"]
        for c in colocations
        if c["score"] == "-INFINITY" or c["with"] == "g" or c["resource"] == clone
    }
    colocations = [c for c in colocations if c["score"] == "-INFINITY" or c["with"] not in calm]
    docs += [doc("Colocation", f"col{i}", spec) for i, spec in enumerate(colocations)]
    docs += draw(
        _locations([t for t in targets if t not in calm], nodes, scores, clone, promotable)
    )
    quorum = draw(st.sampled_from([True, True, True, False]))
    states = {node: draw(_node_states()) for node in nodes}
    maintenance = any(state.maintenance for state in states.values())
    docs += draw(_orders(targets, mandatory=quorum and not maintenance))
    if "g" in calm:
        calm.update(members)

    failing = [n for n in nodes if not states[n].maintenance] if quorum else []
    running, failcounts = draw(
        _running(primitives, members, nodes, calm=calm, failing=failing, stops=stonith)
    )
    promotion: dict[str, dict[str, int]] = {}
    if clone is not None and clone not in calm:
        on = draw(st.lists(st.sampled_from(nodes), unique=True, max_size=clone_max))
        promoted = draw(st.sampled_from([None, *on])) if promotable else None
        for node in on:
            role: ObservedRole = "Started"
            if promotable:
                role = "Promoted" if node == promoted else "Unpromoted"
            running.append(ResourceInstance(clone, node, role))
    if clone is not None and promotable:
        values = draw(st.permutations(PROMOTION_SCORES))
        promotion[clone] = dict(zip(nodes, values, strict=False))
    return ClusterSnapshot(
        declared=DeclaredState.of(docs),
        nodes=states,
        resources=tuple(running),
        failcounts=tuple(failcounts),
        promotion_scores=promotion,
        quorum=quorum,
        observed_at=NOW,
    )


def _cluster(draw: st.DrawFn, *, stonith: bool, auto_failback: bool) -> Document:
    return doc(
        "Cluster",
        "c",
        {
            "stonith": {"enabled": stonith},
            "autoFailback": auto_failback,
            "defaults": {
                "stickiness": draw(st.sampled_from([0, 1, 30])),
                "migrationThreshold": draw(st.sampled_from([0, 2, 1_000_000])),
                "failureTimeout": draw(st.sampled_from(["0s", "5s", "60s"])),
            },
            "noQuorumPolicy": draw(st.sampled_from(["stop", "freeze", "ignore"])),
        },
    )


@st.composite
def _colocations(
    draw: st.DrawFn, targets: list[str], *, promotable: str | None
) -> list[dict[str, Any]]:
    """Up to 3 colocations, each dependent after its primary in `targets` (no cycles)."""
    found: list[dict[str, Any]] = []
    seen: set[frozenset[str]] = set()
    for _ in range(draw(st.integers(0, 3)) if len(targets) >= 2 else 0):
        first, second = sorted(
            draw(st.lists(st.integers(0, len(targets) - 1), min_size=2, max_size=2, unique=True))
        )
        primary, dependent = targets[first], targets[second]
        if frozenset((dependent, primary)) in seen:
            continue
        seen.add(frozenset((dependent, primary)))
        choices: list[int | str] = ["-INFINITY", "INFINITY"]
        if dependent != promotable:
            choices.append(STRONG_ADVISORY)
        spec = {"resource": dependent, "with": primary, "score": draw(st.sampled_from(choices))}
        if primary == promotable and draw(st.booleans()):
            spec["withRole"] = "Promoted"
        found.append(spec)
    dependents = {c["resource"] for c in found}
    primaries = {c["with"] for c in found}
    return [
        c
        for c in found
        if c["score"] != STRONG_ADVISORY
        or (c["resource"] not in primaries and c["with"] not in dependents)
    ]


@st.composite
def _locations(
    draw: st.DrawFn,
    targets: list[str],
    nodes: list[str],
    scores: list[int | str],
    clone: str | None,
    promotable: bool,
) -> list[Document]:
    found = []
    for i in range(draw(st.integers(0, 4)) if targets else 0):
        target = draw(st.sampled_from(targets))
        spec: dict[str, Any] = {"resource": target}
        allowed = scores
        if target == clone:
            allowed = [s for s in scores if not _finite_negative(s) and s != "INFINITY"]
        if draw(st.booleans()):
            spec |= {"node": draw(st.sampled_from(nodes)), "score": draw(st.sampled_from(allowed))}
        else:
            spec["rules"] = [draw(_rules(allowed))]
        if target == clone and promotable:
            spec["role"] = "Promoted"
        found.append(doc("Location", f"l{i}", spec))
    return found


@st.composite
def _orders(draw: st.DrawFn, targets: list[str], *, mandatory: bool) -> list[Document]:
    """Up to 3 orders, forward through `targets`, at most one per pair."""
    found = []
    ordered: set[tuple[int, int]] = set()
    for i in range(draw(st.integers(0, 3)) if len(targets) >= 2 else 0):
        first, then = sorted(
            draw(st.lists(st.integers(0, len(targets) - 1), min_size=2, max_size=2, unique=True))
        )
        if (first, then) in ordered:
            continue
        ordered.add((first, then))
        kind = draw(st.sampled_from(["Mandatory", "Optional"])) if mandatory else "Optional"
        spec = {"first": targets[first], "then": targets[then], "kind": kind}
        found.append(doc("Order", f"o{i}", spec))
    return found


@st.composite
def _running(
    draw: st.DrawFn,
    primitives: list[str],
    members: list[str],
    nodes: list[str],
    *,
    calm: set[str],
    failing: list[str],
    stops: bool,
) -> tuple[list[ResourceInstance], list[Failcount]]:
    """Running primitives (a group: a leading part of it, on one node), some failed."""
    placed: dict[str, str] = {}
    if members and members[0] not in calm and draw(st.booleans()):
        node = draw(st.sampled_from(nodes))
        placed |= dict.fromkeys(members[: draw(st.integers(1, len(members)))], node)
    for resource in primitives:
        if resource not in members and resource not in calm and draw(st.booleans()):
            placed[resource] = draw(st.sampled_from(nodes))
    running: list[ResourceInstance] = []
    failcounts: list[Failcount] = []
    for resource, node in placed.items():
        failed: OpName | None = None
        if node in failing:
            kinds: list[OpName | None] = [None, None, None, None, None, "monitor"]
            failed = draw(st.sampled_from([*kinds, "stop"] if stops else kinds))
        running.append(ResourceInstance(resource, node, failed=failed))
        if failed is not None:
            count = draw(st.integers(1, 2))
            failcounts.append(Failcount(resource, node, count, NOW - 10, operation=failed))
    return running, failcounts


def _finite_negative(score: int | str) -> bool:
    return isinstance(score, int) and score < 0


def _node_states() -> st.SearchStrategy[NodeState]:
    return st.sampled_from(
        [NodeState()] * 5
        + [
            NodeState(online=False),
            NodeState(standby=True),
            NodeState(online=False, unclean=True, lost_at=NOW - 5),
            NodeState(maintenance=True),
        ]
    )


@st.composite
def _rules(draw: st.DrawFn, scores: list[int | str]) -> dict[str, Any]:
    kind = draw(st.sampled_from(["pingd", "rack", "defined", "proportional"]))
    score = draw(st.sampled_from(scores))
    if kind == "proportional":  # heartbeat's ipfail: a score of pingd itself
        return {"attribute": "pingd", "op": "defined", "scoreAttribute": "pingd"}
    if kind == "pingd":
        op = draw(st.sampled_from(["lt", "gte", "eq"]))
        return {
            "attribute": "pingd",
            "op": op,
            "value": draw(st.sampled_from(["1", "100"])),
            "score": score,
        }
    if kind == "rack":
        return {
            "attribute": "rack",
            "op": draw(st.sampled_from(["eq", "ne"])),
            "value": "a",
            "score": score,
        }
    return {
        "attribute": "pingd",
        "op": draw(st.sampled_from(["defined", "not_defined"])),
        "score": score,
    }
