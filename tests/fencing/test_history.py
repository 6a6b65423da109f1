"""The fence history: every attempt kept in the store, failures included, never a secret."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from reconciler import keys
from reconciler.agent.fence_history import (
    FenceEntry,
    entries_from_outcome,
    history_log,
    read_history,
    record,
)
from reconciler.agent.records import Incarnation
from reconciler.fencing import Attempt, FenceOutcome
from reconciler.store.memory import MemoryStore
from reconciler.store.url import open_store
from tests.fencing.devices import device, write_driver

SECRET = "pa55-S3cret-value"
FILE_SECRET = "from-the-file-Xy9"
IP = "198.18.0.77"
CLUSTER = "hist"

Hactl = Callable[..., subprocess.CompletedProcess[str]]


def _attempt(device_name: str, *, ok: bool, stderr: str = "", timed_out: bool = False) -> Attempt:
    return Attempt(
        device=device_name,
        driver="scripted",
        level=1 if device_name == "broken" else 2,
        action="reboot",
        number=1,
        succeeded=ok,
        exit_code=None if timed_out else (0 if ok else 1),
        timed_out=timed_out,
        error="timed out after 1.0s; its process group was killed" if timed_out else None,
        stdout="",
        stderr=stderr,
        started=datetime.now(UTC),
        duration=0.1,
    )


class TestEntries:
    """From a fencing's outcome to history entries (pure)."""

    def test_one_entry_per_attempt_with_outcome_and_level(self) -> None:
        broken = device("broken", ip=IP)
        outcome = FenceOutcome(
            node="n1",
            cluster=CLUSTER,
            action="reboot",
            succeeded=True,
            level=2,
            devices=("ok",),
            attempts=(
                _attempt("broken", ok=False, stderr=f"connecting to {IP}\nlogin failed for {IP}"),
                _attempt("broken", ok=False, timed_out=True),
                _attempt("ok", ok=True),
            ),
            started=datetime.now(UTC),
            finished=datetime.now(UTC),
            reason="fenced by level 2: ok",
        )
        entries = entries_from_outcome(
            outcome, {"broken": broken, "ok": device("ok", level=2)}, by="n2", incarnation="i1"
        )
        assert [(e.device, e.level, e.outcome) for e in entries] == [
            ("broken", 1, "failed"),
            ("broken", 1, "timed out"),
            ("ok", 2, "success"),
        ]
        assert entries[0].reason == "exit code 1: login failed for ***"
        assert all(e.by == "n2" and e.incarnation == "i1" for e in entries)

    def test_no_device_at_all_is_one_failed_entry(self) -> None:
        outcome = FenceOutcome(
            "n1", CLUSTER, "reboot", False, None, (), (), datetime.now(UTC), datetime.now(UTC),
            "no FenceDevice can fence n1",
        )  # fmt: skip
        (entry,) = entries_from_outcome(outcome, {}, by="n2", incarnation="i1")
        assert (entry.device, entry.outcome, entry.reason) == (
            "-",
            "failed",
            "no FenceDevice can fence n1",
        )

    async def test_kept_in_order_and_filtered_by_node(self) -> None:
        store = MemoryStore()
        try:
            log = history_log(store, CLUSTER)
            for node, outcome in (("n1", "failed"), ("n2", "success"), ("n1", "success")):
                entry = FenceEntry(node, "d", 1, "reboot", outcome, "why", "n3", "i")  # type: ignore[arg-type]
                await record(log, [entry])
            every = await read_history(store, CLUSTER)
            assert [(e.node, e.outcome) for e in every] == [
                ("n1", "failed"),
                ("n2", "success"),
                ("n1", "success"),
            ]
            assert [e.outcome for e in await read_history(store, CLUSTER, "n1")] == [
                "failed",
                "success",
            ]
        finally:
            await store.close()


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
metadata: {{name: broken}}
spec:
  driver: scripted
  params: {{echo: true, exit: 1, ip: "{IP}", password: "{SECRET}", passwd_file: PWFILE}}
  nodes: [n1]
  level: 1
  timeout: 10s
---
apiVersion: hactl/v1alpha1
kind: FenceDevice
metadata: {{name: working}}
spec:
  driver: scripted
  params: {{echo: true, ip: "{IP}", password: "{SECRET}"}}
  nodes: [n1]
  level: 2
  timeout: 10s
"""


class TestHactlFenceHistory:
    """`hactl fence NODE` with a failing level 1 and a working level 2, then the history."""

    @pytest.fixture
    def hactl(self, tmp_path: Path) -> Hactl:
        url = f"sqlite://{tmp_path}/store.db"
        drivers = tmp_path / "drivers"
        drivers.mkdir()
        write_driver(drivers)
        env = {**os.environ, "HACTL_FENCE_DIR": str(drivers)}

        def run(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-m", "reconciler", "--store", url, "--cluster", CLUSTER, *args],
                capture_output=True,
                text=True,
                env=env,
                timeout=60,
                check=False,
            )

        secret_file = tmp_path / "pw"
        secret_file.write_text(FILE_SECRET + "\n")
        secret_file.chmod(0o600)
        manifests = tmp_path / "m.yaml"
        manifests.write_text(MANIFESTS.replace("PWFILE", str(secret_file)))
        assert run("apply", "-f", str(manifests)).returncode == 0

        async def joined() -> None:
            store = open_store(url)
            try:
                await store.put(keys.incarnation(CLUSTER, "n1"), Incarnation("inc-1", 0).to_json())
            finally:
                await store.close()

        asyncio.run(joined())
        return run

    def test_failures_then_success_and_no_secret_anywhere(self, hactl: Hactl) -> None:
        run = hactl
        fenced = run("fence", "n1")
        assert fenced.returncode == 0, fenced.stderr
        history = run("fence", "history", "-o", "json")
        assert history.returncode == 0, history.stderr
        rows = json.loads(history.stdout)
        assert [(r["device"], r["level"], r["outcome"]) for r in rows] == [
            ("broken", 1, "failed"),
            ("broken", 1, "failed"),
            ("broken", 1, "failed"),
            ("working", 2, "success"),
        ]
        assert all(r["node"] == "n1" and r["incarnation"] == "inc-1" for r in rows)
        assert all(r["by"].endswith("(hactl fence)") for r in rows)
        assert rows[0]["reason"].startswith("exit code 1")
        table = run("fence", "history", "n1")
        events = run("events", "-o", "json")
        assert "broken" in table.stdout and "working" in table.stdout
        for output in (history.stdout, table.stdout, events.stdout, history.stderr):
            for value in (SECRET, FILE_SECRET, IP):
                assert value not in output

    def test_unknown_node_is_refused(self, hactl: Hactl) -> None:
        refused = hactl("fence", "history", "nosuch")
        assert refused.returncode == 2
        assert refused.stderr.strip().count("\n") == 0 and "not declared" in refused.stderr
