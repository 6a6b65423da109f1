"""Agents as real executables: a private HA_RSCTMP and cluster name per test, scripts
written by the test, and a sweep that kills whatever an action left behind.

Every process an action starts carries HACTL_CLUSTER in its environment (as the
fence_process driver relies on); each test gets a cluster name of its own, so the
sweep finds exactly that test's processes, daemons included.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import textwrap
import uuid
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path

import pytest
import structlog

from reconciler.locate import PROJECT_ROOT
from reconciler.ocf import AgentRef, RunContext, run_action
from reconciler.ocf.runner import ActionResult
from tests.waiting import wait_until

AGENTS_DIR = PROJECT_ROOT / "agents"
SHIPPED_AGENTS = sorted(
    path.name for path in AGENTS_DIR.iterdir() if path.is_file() and os.access(path, os.X_OK)
)
DEBIAN_OCF = Path("/usr/lib/ocf/resource.d")

WriteAgent = Callable[[str, str], Path]


def alive(pid: int) -> bool:
    """The process exists and is not a zombie (a killed orphan may wait to be reaped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def processes_of(cluster: str) -> list[int]:
    """Live processes whose environment says HACTL_CLUSTER=cluster."""
    marker = f"HACTL_CLUSTER={cluster}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if marker in environ.split(b"\0") and alive(int(entry.name)):
            found.append(int(entry.name))
    return found


async def act(
    agent: AgentRef | str,
    action: str = "start",
    *,
    context: RunContext,
    limit: float = 10.0,
    params: Mapping[str, str] | None = None,
    **more: str,
) -> ActionResult:
    """Run one action of instance rsc1 within `limit` seconds; params given either way."""
    return await run_action(
        agent,
        action,
        instance="rsc1",
        context=context,
        timeout=limit,
        params={**(params or {}), **more},
    )


def read_environ(path: Path) -> dict[str, str]:
    entries = path.read_bytes().split(b"\0")
    return dict(entry.decode().split("=", 1) for entry in entries if entry)


def pid_in(path: Path) -> int:
    """The pid a script wrote (`echo $! >file`), once the whole line is there."""
    wait_until(
        lambda: path.exists() and path.read_text().endswith("\n"),
        within=5,
        what=f"{path.name} written",
    )
    return int(path.read_text())


def debian_agent(provider: str, kind: str) -> str:
    """The spec of a Debian-packaged agent, skipping the test when it is not installed."""
    if not (DEBIAN_OCF / provider / kind).is_file():
        package = "resource-agents" if provider == "heartbeat" else "pacemaker-resource-agents"
        pytest.skip(f"ocf:{provider}:{kind} is not installed (Debian package {package})")
    return f"ocf:{provider}:{kind}"


@pytest.fixture
def context(tmp_path: Path) -> Iterator[RunContext]:
    cluster = f"ocftest-{uuid.uuid4().hex[:12]}"
    yield RunContext(cluster=cluster, node="node1", rsctmp=tmp_path / "rsctmp")
    for pid in processes_of(cluster):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@pytest.fixture
def debug_logs() -> Iterator[None]:
    """Let every level through (a CLI test may have configured `warning`), then restore."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    yield
    structlog.configure(**saved)


@pytest.fixture
def write_agent(tmp_path: Path) -> WriteAgent:
    """Write an executable sh script into an agents directory of the test's own."""
    directory = tmp_path / "agents"
    directory.mkdir()

    def write(name: str, body: str) -> Path:
        path = directory / name
        path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
        path.chmod(0o755)
        return path

    return write


@pytest.fixture
def own_agents(tmp_path: Path, write_agent: WriteAgent, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Make `hactl:NAME` resolve to the scripts written by `write_agent`."""
    monkeypatch.setenv("HACTL_AGENTS_DIR", str(tmp_path / "agents"))
    return tmp_path / "agents"
