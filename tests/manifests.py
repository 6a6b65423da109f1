"""Cluster manifests the suites share, built from parts, so that each suite states only
what differs from the usual cluster: three nodes, fast heartbeat timing, fencing by
fence_process, Dummy resources and the witness service in a group that prefers n1.

Every builder returns one YAML document (`spec` written as JSON, which is YAML too);
`documents()` joins documents and lists of documents into one file's text.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

NODES = ("n1", "n2", "n3")
FAST_TIMING = {"keepalive": "100ms", "warntime": "300ms", "deadtime": "1s", "initdeadtime": "3s"}
"""Heartbeat timing for tests: a lost node is noticed within a second."""
MONITOR = {"name": "monitor", "interval": "200ms", "timeout": "5s"}
WITNESS_DAEMON = Path(__file__).resolve().parent / "witness_daemon.py"
"""The witness service (run by hactl:anything): logs every moment it answers."""


def document(kind: str, name: str, spec: Mapping[str, Any] | None = None) -> str:
    text = f"apiVersion: hactl/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\n"
    return text if spec is None else text + f"spec: {json.dumps(spec)}\n"


def documents(*parts: str | Iterable[str]) -> str:
    docs: list[str] = []
    for part in parts:
        docs += [part] if isinstance(part, str) else list(part)
    return "---\n".join(docs)


def cluster_doc(
    name: str, *, stonith: bool, timing: Mapping[str, str] | None = None, **spec: Any
) -> str:
    """A Cluster with FAST_TIMING (or `timing`; {} for the defaults) and `spec` on top."""
    chosen = FAST_TIMING if timing is None else timing
    body = {**({"timing": dict(chosen)} if chosen else {}), "stonith": {"enabled": stonith}}
    return document("Cluster", name, {**body, **spec})


def nodes(*names: str, **spec: Any) -> list[str]:
    """A Node per name (NODES when none is named), each with `spec` (none: no spec)."""
    return [document("Node", n, spec or None) for n in names or NODES]


def fence_process(nodes: Iterable[str] = NODES) -> str:
    """fence_process (fence/): kills what a test cluster's node started, by cluster name."""
    return document("FenceDevice", "local", {"driver": "fence_process", "nodes": list(nodes)})


def dummy(name: str, *, monitor: bool = True, **spec: Any) -> str:
    """A hactl:Dummy resource, monitored every 200 ms unless `monitor` is False."""
    body: dict[str, Any] = {"agent": "hactl:Dummy", **spec}
    if monitor:
        body["ops"] = [MONITOR]
    return document("Resource", name, body)


def witness_service(workdir: Path, name: str = "service") -> str:
    """The witness service writing `workdir`/witness.log (read with tests/witness.py)."""
    options = f"{WITNESS_DAEMON} {workdir / 'witness.log'}"
    params = {"binfile": sys.executable, "cmdline_options": options}
    return document(
        "Resource", name, {"agent": "hactl:anything", "params": params, "ops": [MONITOR]}
    )


def group(name: str, *members: str) -> str:
    return document("Group", name, {"resources": list(members)})


def prefers(resource: str, node: str = "n1", score: int = 100) -> str:
    """`<resource>-prefers-<node>`: a Location with a positive score."""
    spec = {"resource": resource, "node": node, "score": score}
    return document("Location", f"{resource}-prefers-{node}", spec)


def witnessed_app(workdir: Path, *, data: Mapping[str, Any] | None = None) -> list[str]:
    """Group `app` of a Dummy `data` (with `data` as its params) and the witness
    `service`, preferring n1: the service whose copies the witness counts."""
    return [
        dummy("data", **({"params": dict(data)} if data else {})),
        witness_service(workdir),
        group("app", "data", "service"),
        prefers("app"),
    ]
