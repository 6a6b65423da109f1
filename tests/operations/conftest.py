"""Three real agents running a group of a Dummy and the witness service, preferring n1.

The witness (tests/witness_daemon.py, run by hactl:anything) writes a log the cluster
never reads: evidence from outside of where the service really answered. The Node
manifests say `standby: false`: the nodes' normal state, which an operator's standby
must outlive across applies.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.harness import AgentCluster, agent_cluster
from tests.manifests import (
    cluster_doc,
    document,
    documents,
    fence_process,
    witnessed_app,
)


def pipeline_manifests(workdir: Path) -> str:
    return documents(
        cluster_doc("pipeline", stonith=True),
        document("Node", "n1", {"standby": False, "maintenance": False}),
        document("Node", "n2", {"standby": False}),
        document("Node", "n3", {"standby": False}),
        fence_process(),
        witnessed_app(workdir, data={"fail_monitor_file": str(workdir / "fail-data")}),
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[AgentCluster]:
    with agent_cluster(tmp_path, f"sqlite://{tmp_path}/store.db") as running:
        running.start_witnessed(pipeline_manifests(tmp_path))
        yield running
