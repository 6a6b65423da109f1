"""Pacemaker's scheduler as a test oracle: crm_simulate on the exported CIB.

`differences(snapshot, now)` schedules the snapshot with hactl and, exported with
`to_cib`, with `crm_simulate -x CIB -R --output-as=xml`, and lists where the two
disagree: where each resource ends up, in which role, and which nodes are fenced.
Pacemaker's side is its Transition Summary applied to the status it reports — the
scheduler's target, as hactl's placements are.

The comparison normalizes a few things (docs/scheduler.md, "Differences found by
crm_simulate" says why): fence devices are disabled (added if none is declared),
missing promotion scores are written as hactl's 0, and with `settle` Pacemaker's
lags are taken out — resources it counts in load ties though they cannot start, and
promotions it leaves to its next transition.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

from reconciler.cib import name_of, to_cib
from reconciler.scheduler import schedule
from reconciler.snapshot import ClusterSnapshot

CRM_SIMULATE = shutil.which("crm_simulate")

Where = tuple[tuple[str, str], ...]
"""Sorted (node, role) pairs: where the instances of one resource are active."""


@dataclass(frozen=True)
class Outcome:
    """Where every resource ends up, in which role, and which nodes were fenced."""

    placements: dict[str, Where]
    fence: tuple[str, ...]

    def differences(self, other: Outcome) -> list[str]:
        """One line per resource (or the fencing) on which the two outcomes disagree."""
        lines = []
        if self.fence != other.fence:
            lines.append(f"fence: {list(self.fence)} vs {list(other.fence)}")
        for name in sorted(set(self.placements) | set(other.placements)):
            mine, theirs = self.placements.get(name, ()), other.placements.get(name, ())
            if mine != theirs:
                lines.append(f"{name}: {_where(mine)} vs {_where(theirs)}")
        return lines

    def nodes(self) -> dict[str, list[str]]:
        return {name: sorted(node for node, _ in where) for name, where in self.placements.items()}


def _where(where: Where) -> str:
    return ", ".join(f"{node} {role}" for node, role in where) or "stopped"


def differences(
    snapshot: ClusterSnapshot, now: float, *, workdir: Path, settle: bool = True
) -> list[str]:
    """Where hactl and Pacemaker disagree on the snapshot: `hactl … vs pacemaker …` lines.

    With `settle`, where only roles differ Pacemaker also gets its next transition: it
    promotes an instance that moves only once it runs there, and a restart can bring a
    promoted instance back unpromoted; hactl does both in one transition. Fencing is
    compared on the first transition.
    """
    cib = comparable_cib(replace(snapshot, observed_at=now, promotion_scores=_scored(snapshot)))
    return compare(hactl_outcome(snapshot, now), cib, workdir=workdir, settle=settle)


def compare(hactl: Outcome, cib: str, *, workdir: Path, settle: bool = True) -> list[str]:
    """hactl's outcome against Pacemaker's on `cib` (see `differences`)."""
    pacemaker = pacemaker_outcome(cib, workdir=workdir, settle=settle)
    found = hactl.differences(pacemaker)
    if settle and found and hactl.fence == pacemaker.fence and hactl.nodes() == pacemaker.nodes():
        later = pacemaker_outcome(_next_transition(cib, workdir=workdir), workdir=workdir)
        found = hactl.differences(Outcome(later.placements, pacemaker.fence))
    return found


def hactl_outcome(snapshot: ClusterSnapshot, now: float) -> Outcome:
    """hactl's decision: every placed instance with its role, and the fencing."""
    transition = schedule(snapshot, now)
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for placement in transition.placements:
        if placement.node is not None:
            found[placement.resource].append((placement.node, placement.role))
    return Outcome(
        {name: tuple(sorted(where)) for name, where in found.items()},
        tuple(sorted(transition.fence)),
    )


def comparable_cib(snapshot: ClusterSnapshot) -> str:
    """The exported CIB with its fence devices disabled, and one added if none is declared.

    Pacemaker places fence devices like resources, and they count when it breaks
    score ties by load; hactl's fence devices run nowhere. Disabled devices still let
    crm_simulate fence. With stonith enabled and no device at all, Pacemaker manages
    nothing; hactl schedules as if a device will be there (`hactl validate` warns).
    """
    root = ET.fromstring(to_cib(snapshot))
    resources = root.find("configuration/resources")
    assert resources is not None
    devices = [p for p in resources.iter("primitive") if p.get("class") == "stonith"]
    if snapshot.declared.cluster.spec.stonith.enabled and not devices:
        device = ET.SubElement(resources, "primitive", id="stonith_comparison", type="fence_dummy")
        device.set("class", "stonith")
        devices.append(device)
    for device in devices:
        _disable(device)
    return ET.tostring(root, encoding="unicode")


def _scored(snapshot: ClusterSnapshot) -> dict[str, dict[str, int]]:
    """Promotion scores with hactl's 0 written out where an agent reported none.

    Pacemaker never promotes an instance without a promotion score; hactl counts a
    missing one as 0, so that a promotable clone declared from scratch is promoted.
    """
    declared = snapshot.declared
    scores = {rsc: dict(per_node) for rsc, per_node in snapshot.promotion_scores.items()}
    for name, resource in declared.resources.items():
        if resource.spec.clone is not None and resource.spec.clone.promotable:
            for node in declared.nodes:
                scores.setdefault(name, {}).setdefault(node, 0)
    return scores


# --- Pacemaker's side ------------------------------------------------------------------


def pacemaker_outcome(cib: str, *, workdir: Path, settle: bool = True) -> Outcome:
    """Pacemaker's decision on `cib`: its current status changed by its Transition Summary.

    Pacemaker assigns a node to a resource before it finds that the resource cannot
    start (its Mandatory `first` cannot, or the quorum freeze holds it), and counts it
    when it breaks later ties by load; hactl does not count what will not start. With
    `settle`, such resources are disabled (a clone: limited to the instances it runs)
    and the CIB is scheduled once more: they stay as they are either way, and no longer
    weigh on the ties.
    """
    root = _simulate(cib, workdir=workdir)
    primitives, clones = _held_back(root) if settle else (set(), {})
    if primitives or clones:
        tree = ET.fromstring(cib)
        for clone in tree.iter("clone"):
            child = clone.find("primitive")
            if child is not None and child.get("id") in clones:
                _limit(clone, clones[child.get("id", "")])
        for primitive in tree.iter("primitive"):
            if primitive.get("id") in primitives:
                _disable(primitive)
        root = _simulate(ET.tostring(tree, encoding="unicode"), workdir=workdir)
    return _outcome(root)


def _next_transition(cib: str, *, workdir: Path) -> str:
    """The CIB after crm_simulate carried out the transition (every action succeeding)."""
    source, target = workdir / "cib.xml", workdir / "next.xml"
    source.write_text(cib)
    _crm_simulate("-x", str(source), "-S", "-O", str(target))
    return target.read_text()


def _simulate(cib: str, *, workdir: Path) -> ET.Element:
    path = workdir / "cib.xml"
    path.write_text(cib)
    return ET.fromstring(_crm_simulate("-x", str(path), "-R", "--output-as=xml"))


def _crm_simulate(*args: str) -> str:
    assert CRM_SIMULATE is not None, "crm_simulate is not installed"
    result = subprocess.run(
        [CRM_SIMULATE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "LC_ALL": "C"},
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"crm_simulate failed ({result.returncode}): {result.stderr}")
    return result.stdout


def _held_back(root: ET.Element) -> tuple[set[str], dict[str, int]]:
    """Primitives whose start is held back by quorum or an unrunnable order, and clones
    with such an instance (with the number of instances they run)."""
    active: dict[str, int] = defaultdict(int)
    for resource in root.iterfind("cluster_status/resources//resource"):
        active[resource.get("id", "")] += len(resource.findall("node"))
    primitives: set[str] = set()
    clones: dict[str, int] = {}
    for action in root.iterfind("actions/rsc_action"):
        blocked = action.get("blocked") == "true"
        starting = action.get("action") == "start" or action.get("role") == "Stopped"
        ordered = (action.get("reason") or "").startswith(("unrunnable ", "required "))
        unrunnable = ordered and action.get("action") in ("start", "stop")
        if not ((blocked and starting) or (unrunnable and not blocked)):
            continue
        primitive, instance, _ = action.get("resource", "").partition(":")
        if instance and not unrunnable:  # the freeze: what runs may keep running
            clones[primitive] = min(clones.get(primitive, active[primitive]), active[primitive])
        else:  # an unrunnable order stops every instance of a clone
            primitives.add(primitive)
    return primitives, {c: n for c, n in clones.items() if c not in primitives}


def _limit(clone: ET.Element, instances: int) -> None:
    meta = clone.find("meta_attributes")
    if meta is None:
        meta = ET.SubElement(clone, "meta_attributes", id=f"{clone.get('id')}_limit")
    for nvpair in meta.findall("nvpair"):
        if nvpair.get("name") == "clone-max":
            meta.remove(nvpair)
    ET.SubElement(
        meta, "nvpair", id=f"{clone.get('id')}_max", name="clone-max", value=str(instances)
    )


def _disable(primitive: ET.Element) -> None:
    ident = primitive.get("id")
    meta = ET.SubElement(primitive, "meta_attributes", id=f"{ident}_disabled")
    ET.SubElement(meta, "nvpair", id=f"{ident}_target-role", name="target-role", value="Stopped")


def _outcome(root: ET.Element) -> Outcome:
    clones = {
        name_of(clone.get("id", "").removesuffix("_clone")): clone.get("multi_state") == "true"
        for clone in root.iterfind("cluster_status/resources/clone")
    }
    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for resource in root.iterfind("cluster_status/resources//resource"):
        xml_id = resource.get("id", "")
        if not xml_id.startswith("stonith_"):
            for node in resource.iterfind("node"):
                found[name_of(xml_id)].append((node.get("name", ""), resource.get("role", "")))
    for action in root.iterfind("actions/rsc_action"):
        if action.get("blocked") == "true" or action.get("resource", "").startswith("stonith_"):
            continue
        _apply(found, action, clones=clones)
    fence = sorted(
        action.get("node", "")
        for action in root.iterfind("actions/node_action")
        if (action.get("task") or "").startswith("Fence")
    )
    return Outcome(
        {name: tuple(sorted(where)) for name, where in found.items() if where}, tuple(fence)
    )


def _apply(
    found: dict[str, list[tuple[str, str]]], action: ET.Element, *, clones: dict[str, bool]
) -> None:
    """One summary line: the instance leaves its origin and/or arrives at its destination.

    A primitive ends up only at its destination (a copy found active elsewhere too is
    stopped with it); `clones` tells which resources are clones, and which promotable.
    """
    name = name_of(action.get("resource", ""))
    kind = action.get("action")
    node = action.get("node")
    origin, destination = action.get("source"), action.get("dest")
    if origin is not None and destination is None:
        destination = origin  # recover, restart, promote, demote: same node
    elif node is not None:
        origin = None if kind == "start" else node
        destination = None if kind == "stop" else node
    if origin is not None:
        where = found[name]
        where.remove(next(w for w in where if w[0] == origin))
    if destination is not None:
        role = action.get("next-role") or action.get("role") or "Started"
        if clones.get(name) and role == "Started":
            role = "Unpromoted"
        if name not in clones:
            found[name] = []
        found[name].append((destination, role))
