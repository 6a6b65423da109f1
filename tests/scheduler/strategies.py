"""Hypothesis strategies: small random clusters (declared and observed) to schedule.

Configurations stay inside what the loader accepts: constraints name existing
resources or groups, no resource is colocated with its own group, and Mandatory orders
only run forward through a fixed order of resources (no cycles). Observed resources run
on random nodes, some nodes are offline, in standby or lost.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import KINDS, Document
from reconciler.snapshot import ClusterSnapshot, NodeState, ObservedRole, ResourceInstance

SCORES = ["-INFINITY", -100, -10, 0, 10, 100, "INFINITY"]
COLOCATION_SCORES = ["-INFINITY", -100, 100, "INFINITY"]


def doc(kind: str, name: str, spec: dict[str, Any] | None = None) -> Document:
    body: dict[str, Any] = {
        "apiVersion": "hactl/v1alpha1",
        "kind": kind,
        "metadata": {"name": name},
    }
    if spec is not None:
        body["spec"] = spec
    return KINDS[kind].model_validate(body)


@st.composite
def snapshots(
    draw: st.DrawFn, *, min_stickiness: int = 0, acyclic: bool = False
) -> ClusterSnapshot:
    """A random cluster: 2-4 nodes, up to 6 primitives, maybe a group and a clone.

    `acyclic`: colocations and orders never form a dependency cycle (each resource
    depends only on resources before it in one fixed order). There is at most one
    colocation per pair of resources.
    """
    nodes = [f"n{i}" for i in range(1, draw(st.integers(2, 4)) + 1)]
    primitives = [f"r{i}" for i in range(1, draw(st.integers(1, 6)) + 1)]
    stickiness = draw(st.sampled_from(sorted({min_stickiness, 1, 100})))
    stonith = draw(st.booleans())
    docs = [
        doc(
            "Cluster",
            "c",
            {
                "stonith": {"enabled": stonith},
                "autoFailback": draw(st.booleans()),
                "defaults": {"stickiness": stickiness},
            },
        ),
        *[doc("Node", n) for n in nodes],
        *[doc("Resource", r, {"agent": "ocf:heartbeat:Dummy"}) for r in primitives],
    ]
    members: list[str] = []
    targets = list(primitives)
    if len(primitives) >= 3 and draw(st.booleans()):
        members = primitives[: draw(st.integers(2, 3))]
        docs.append(doc("Group", "g", {"resources": members}))
        targets = ["g"] + [r for r in primitives if r not in members]
    clone: str | None = None
    if draw(st.booleans()):
        clone = "c1"
        promotable = draw(st.booleans())
        spec: dict[str, Any] = {"promotable": promotable}
        if draw(st.booleans()):
            spec["max"] = draw(st.integers(1, len(nodes)))
        docs.append(doc("Resource", clone, {"agent": "ocf:linbit:drbd", "clone": spec}))
        targets.append(clone)

    for i in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(targets + members))
        docs.append(
            doc(
                "Location",
                f"l{i}",
                {
                    "resource": target,
                    "node": draw(st.sampled_from(nodes)),
                    "score": draw(st.sampled_from(SCORES)),
                },
            )
        )
    pairs = 3 if len(targets) >= 2 else 0
    colocated: set[frozenset[str]] = set()
    for i in range(draw(st.integers(0, pairs))):
        dependent, primary = draw(
            st.lists(st.sampled_from(targets), min_size=2, max_size=2, unique=True)
        )
        if acyclic and targets.index(dependent) < targets.index(primary):
            dependent, primary = primary, dependent
        spec = {
            "resource": dependent,
            "with": primary,
            "score": draw(st.sampled_from(COLOCATION_SCORES)),
        }
        if primary == clone and draw(st.booleans()):
            spec["withRole"] = "Promoted"
        if frozenset((dependent, primary)) in colocated:
            continue  # one colocation per pair: two could contradict each other
        colocated.add(frozenset((dependent, primary)))
        docs.append(doc("Colocation", f"col{i}", spec))
    for i in range(draw(st.integers(0, pairs))):
        first, then = sorted(
            draw(st.lists(st.integers(0, len(targets) - 1), min_size=2, max_size=2, unique=True))
        )
        docs.append(
            doc(
                "Order",
                f"o{i}",
                {
                    "first": targets[first],
                    "then": targets[then],
                    "kind": draw(st.sampled_from(["Mandatory", "Optional"])),
                },
            )
        )

    states: dict[str, NodeState] = {}
    for node in nodes:
        kind = draw(st.sampled_from(["online"] * 4 + ["offline", "standby", "lost"]))
        states[node] = {
            "online": NodeState(),
            "offline": NodeState(online=False),
            "standby": NodeState(standby=True),
            "lost": NodeState(online=False, unclean=True),
        }[kind]
    running: list[ResourceInstance] = []
    for resource in primitives:
        if draw(st.booleans()):
            running.append(ResourceInstance(resource, draw(st.sampled_from(nodes))))
    if clone is not None:
        role: ObservedRole = "Unpromoted" if promotable else "Started"
        for node in draw(st.lists(st.sampled_from(nodes), unique=True, max_size=len(nodes))):
            running.append(ResourceInstance(clone, node, role))
    return ClusterSnapshot(
        declared=DeclaredState.of(docs),
        nodes=states,
        resources=tuple(running),
    )
