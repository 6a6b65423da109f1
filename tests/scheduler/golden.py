"""Golden regression cases: reading a case directory, rendering a Transition to compare.

A case is a directory under tests/scheduler/cases/ holding manifests (any *.yaml but
the two below), `observed.yaml` (the observed half of a ClusterSnapshot: nodes, resource
instances, failcounts, quorum; `observedAt` is the time the case is scheduled at) and
`expected.yaml` (placements, fencing and the ordered actions). docs/scheduler.md says
how to add one; HACTL_REGEN_GOLDEN=1 rewrites every expected.yaml from the scheduler.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML

from reconciler.loader import load_paths
from reconciler.scheduler import Transition
from reconciler.snapshot import ClusterSnapshot

CASES = Path(__file__).parent / "cases"
SPECIAL = {"observed.yaml", "expected.yaml"}


def case_names() -> list[str]:
    return sorted(p.name for p in CASES.iterdir() if p.is_dir())


def load_case(name: str) -> tuple[ClusterSnapshot, float]:
    """The case's snapshot and the time to schedule it at."""
    directory = CASES / name
    manifests = sorted(p for p in directory.glob("*.yaml") if p.name not in SPECIAL)
    declared = load_paths(manifests)
    observed_file = directory / "observed.yaml"
    observed: Any = (
        YAML(typ="safe").load(observed_file.read_text()) if observed_file.exists() else {}
    )
    snapshot = ClusterSnapshot.from_dict(observed or {}, declared=declared)
    return snapshot, snapshot.observed_at or 0.0


def render(transition: Transition) -> dict[str, Any]:
    """What a golden case pins: placements (with non-Started roles), fencing, actions."""
    placements: dict[str, str | None] = {}
    for p in transition.placements:
        if p.node is None:
            placements[p.instance] = None
        elif p.role in ("Started",):
            placements[p.instance] = p.node
        else:
            placements[p.instance] = f"{p.node} {p.role}"
    return {
        "placements": placements,
        "fence": list(transition.fence),
        "actions": [str(a) for a in transition.actions],
    }


def read_expected(name: str) -> dict[str, Any]:
    data: Any = YAML(typ="safe").load((CASES / name / "expected.yaml").read_text())
    return {
        "placements": data.get("placements") or {},
        "fence": data.get("fence") or [],
        "actions": data.get("actions") or [],
    }


def write_expected(name: str, rendered: dict[str, Any]) -> None:
    yaml = YAML()
    yaml.default_flow_style = False
    buffer = io.StringIO()
    yaml.dump(rendered, buffer)
    (CASES / name / "expected.yaml").write_text(buffer.getvalue())
