"""Three real agents running a group of a Dummy and the witness service, preferring n1.

The witness (tests/witness_daemon.py, run by hactl:anything) writes a log the cluster
never reads: evidence from outside of where the service really answered.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import AgentCluster, agent_cluster
from tests.waiting import wait_until
from tests.witness import serving_since

WITNESS = Path(__file__).resolve().parent.parent / "witness_daemon.py"

MANIFESTS = """\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {name: pipeline}
spec:
  timing: {keepalive: 100ms, warntime: 300ms, deadtime: 1s, initdeadtime: 3s}
  stonith: {enabled: true}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n1}
spec: {standby: false, maintenance: false}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n2}
spec: {standby: false}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: n3}
spec: {standby: false}
---
apiVersion: hactl/v1alpha1
kind: FenceDevice
metadata: {name: local}
spec: {driver: fence_process, nodes: [n1, n2, n3]}
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: data}
spec:
  agent: hactl:Dummy
  params: {fail_monitor_file: WORK/fail-data}
  ops: [{name: monitor, interval: 200ms, timeout: 5s}]
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: service}
spec:
  agent: hactl:anything
  params: {binfile: PYTHON, cmdline_options: "WITNESS WORK/witness.log"}
  ops: [{name: monitor, interval: 200ms, timeout: 5s}]
---
apiVersion: hactl/v1alpha1
kind: Group
metadata: {name: app}
spec: {resources: [data, service]}
---
apiVersion: hactl/v1alpha1
kind: Location
metadata: {name: app-prefers-n1}
spec: {resource: app, node: n1, score: 100}
"""


def answering(cluster: AgentCluster) -> set[str]:
    """Nodes whose service answered in the last 100 ms (the witness's word)."""
    return serving_since(cluster.workdir / "witness.log", time.monotonic_ns() - 100_000_000)


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[AgentCluster]:
    text = (
        MANIFESTS.replace("WORK", str(tmp_path))
        .replace("PYTHON", sys.executable)
        .replace("WITNESS", str(WITNESS))
    )
    with agent_cluster(tmp_path, f"sqlite://{tmp_path}/store.db") as running:
        running.apply(text)
        for node in ("n1", "n2", "n3"):
            running.start(node)
        wait_until(lambda: answering(running) == {"n1"}, within=20, what="service on n1")
        yield running
