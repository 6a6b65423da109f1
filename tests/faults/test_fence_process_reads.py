"""fence_process on a busy machine: a process whose state changes while the driver reads it.

A fault seen in test_failover: the driver, preempted between reading a process's stat and
re-reading it to rule out a recycled pid, saw the witness daemon go from sleeping to
running, took that for a recycled pid, skipped it and reported the node "Powered OFF"
while its service still ran: two copies. Only the start time identifies a process; its
state and parent change all the time. The driver's reading of /proc is replaced here by a
scripted one (the race needs a preemption at one exact point, which a real process
cannot be made to hit on demand).
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

DRIVER = Path(__file__).resolve().parents[2] / "fence" / "fence_process"
PID = 4242


@pytest.fixture
def driver(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The driver's file as a module (it has no .py suffix to import it by)."""
    loader = importlib.machinery.SourceFileLoader("fence_process_under_test", str(DRIVER))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, loader.name, module)
    loader.exec_module(module)
    return module


def script(
    driver: ModuleType, monkeypatch: pytest.MonkeyPatch, *stats: tuple[str, int, int] | None
) -> None:
    """The stat reads of PID return `stats` in turn; its environment marks node n1."""
    reads = iter(stats)
    monkeypatch.setattr(driver, "read_stat", lambda pid: next(reads))
    files = {
        f"/proc/{PID}/environ": ["HACTL_NODE=n1", "HACTL_CLUSTER=c1"],
        f"/proc/{PID}/cmdline": ["python3", "witness_daemon.py"],
    }
    monkeypatch.setattr(driver, "read_nul_list", lambda path: files[path])
    monkeypatch.setattr(driver, "PROC", "/proc")


class TestInspectWhileTheProcessRuns:
    """A process that changed state or parent while read is still the node's; a process
    with another start time under the same pid is not."""

    def test_sleeping_then_running_is_still_a_member(
        self, driver: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        script(driver, monkeypatch, ("S", 100, 777), ("R", 100, 777))
        member = driver.inspect(PID)
        assert member is not None and member.belongs_to("n1", "c1")

    def test_reparented_while_read_is_still_a_member(
        self, driver: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        script(driver, monkeypatch, ("S", 100, 777), ("S", 1, 777))
        assert driver.inspect(PID) is not None

    def test_a_recycled_pid_is_not_the_process_read(
        self, driver: ModuleType, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        script(driver, monkeypatch, ("S", 100, 777), ("S", 100, 901))
        assert driver.inspect(PID) is None

    def test_gone_while_read(self, driver: ModuleType, monkeypatch: pytest.MonkeyPatch) -> None:
        script(driver, monkeypatch, ("S", 100, 777), None)
        assert driver.inspect(PID) is None
