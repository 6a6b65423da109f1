"""Debian's fence-agents, unchanged, driven by `hactl fence`.

NEEDS fence_ipmilan (Debian's fence-agents; `./dev test` installs it): skipped only when
it is not installed. The BMC address is loopback on a port nothing listens on, so the
fencing fails — which is what is checked: the options reach the real agent, its failure
is reported and recorded with its own words, and the password appears nowhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler import keys
from reconciler.agent.records import Incarnation
from reconciler.store.url import open_store

pytestmark = [
    pytest.mark.skipif(
        shutil.which("fence_ipmilan") is None, reason="needs fence_ipmilan (fence-agents)"
    ),
    pytest.mark.timeout(120),
]

CLUSTER = "debfence"
SECRET = "Ipmi-S3cret-pw77"

MANIFESTS = f"""\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {{name: {CLUSTER}}}
spec:
  stonith: {{enabled: true}}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {{name: n1}}
---
apiVersion: hactl/v1alpha1
kind: FenceDevice
metadata: {{name: bmc}}
spec:
  driver: fence_ipmilan
  params: {{ip: 127.0.0.1, ipport: 1, username: admin, password: "{SECRET}", lanplus: 1,
            login_timeout: 2, power_timeout: 2}}
  nodes: [n1]
  timeout: 60s
"""


def test_a_failing_fence_ipmilan_is_reported_recorded_and_keeps_its_secret(
    tmp_path: Path,
) -> None:
    url = f"sqlite://{tmp_path}/store.db"

    def hactl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "reconciler", "--store", url, "--cluster", CLUSTER, *args],
            capture_output=True,
            text=True,
            env=dict(os.environ),
            timeout=90,
            check=False,
        )

    manifests = tmp_path / "m.yaml"
    manifests.write_text(MANIFESTS)
    applied = hactl("apply", "-f", str(manifests))
    assert applied.returncode == 0, applied.stderr

    async def joined() -> None:
        store = open_store(url)
        try:
            await store.put(keys.incarnation(CLUSTER, "n1"), Incarnation("inc-1", 0).to_json())
        finally:
            await store.close()

    asyncio.run(joined())

    fenced = hactl("fence", "n1")
    assert fenced.returncode == 1
    assert "fencing n1 failed" in fenced.stderr
    history = hactl("fence", "history", "-o", "json")
    rows = json.loads(history.stdout)
    assert rows and all(r["device"] == "bmc" and r["outcome"] == "failed" for r in rows)
    assert all(r["reason"].startswith("exit code ") for r in rows)  # the driver's own exit
    assert hactl("get", "fencedevices", "-o", "yaml").returncode == 0
    outputs = [fenced.stdout, fenced.stderr, history.stdout, history.stderr]
    outputs += [hactl("get", "fencedevices", "-o", "yaml").stdout]
    outputs += [hactl("events", "-o", "json").stdout]
    for output in outputs:
        assert SECRET not in output

    async def fenced_record() -> bytes | None:
        store = open_store(url)
        try:
            kv = await store.get(keys.fenced(CLUSTER, "n1"))
            return kv.value if kv else None
        finally:
            await store.close()

    # Nothing recorded the node as fenced: its resources would stay where they are.
    assert asyncio.run(fenced_record()) is None
