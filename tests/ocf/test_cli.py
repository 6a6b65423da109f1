"""`hactl agent-test`: a pass/fail table or JSON, and exit codes a pipeline can use."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import build
from tests.ocf.conftest import WriteAgent, processes_of


@pytest.fixture(autouse=True)
def cluster(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A cluster name of the test's own (HACTL_CLUSTER of every action), swept afterwards."""
    name = f"ocfcli-{uuid.uuid4().hex[:12]}"
    monkeypatch.setenv("HACTL_CLUSTER", name)
    yield name
    for pid in processes_of(name):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def hactl(*args: str) -> Result:
    return CliRunner().invoke(build(), list(args), catch_exceptions=False)


@pytest.fixture(autouse=True)
def private_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """agent-test's temporary HA_RSCTMP goes here, to check that it is removed."""
    directory = tmp_path / "tmp"
    directory.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(directory))
    return directory


class TestPass:
    """A good agent prints every check as passed and exits 0."""

    def test_table(self, private_tmp: Path) -> None:
        result = hactl("agent-test", "hactl:Dummy")
        assert result.exit_code == 0, result.output
        lines = result.stdout.splitlines()
        assert lines[0].split() == ["CHECK", "RESULT", "DETAIL"]
        assert any(line.split()[:2] == ["start", "pass"] for line in lines)
        assert lines[-1] == "hactl:Dummy: passed"
        assert list(private_tmp.iterdir()) == [], "the temporary HA_RSCTMP is removed"

    @pytest.mark.parametrize("position", ["before", "after"])
    def test_json(self, position: str) -> None:
        args = ["agent-test", "hactl:Stateful"]
        result = hactl(*(["-o", "json", *args] if position == "before" else [*args, "-o", "json"]))
        assert result.exit_code == 0, result.output
        report = json.loads(result.stdout)
        assert (report["agent"], report["passed"]) == ("hactl:Stateful", True)
        names = [check["name"] for check in report["checks"]]
        assert "monitor when promoted" in names
        assert all(check["passed"] for check in report["checks"])

    def test_params(self, cluster: str) -> None:
        result = hactl(
            "agent-test",
            "hactl:anything",
            "--param",
            "binfile=sleep",
            "--param",
            "cmdline_options=300",
        )
        assert result.exit_code == 0, result.output
        assert "binfile=sleep, cmdline_options=300" in result.stdout
        assert processes_of(cluster) == [], "the daemon it started is stopped again"


class TestFail:
    """A broken agent exits 1, and the table says which check failed and why."""

    def test_broken_agent_by_path(self, write_agent: WriteAgent) -> None:
        path = write_agent(
            "broken",
            """\
            case $1 in
            meta-data) echo '<resource-agent name="b"><actions><action name="start"/>'
                       echo '<action name="stop"/><action name="monitor"/>'
                       echo '<action name="meta-data"/></actions></resource-agent>' ;;
            *) exit 0 ;;
            esac
            """,
        )
        result = hactl("agent-test", str(path), "-o", "yaml")
        assert result.exit_code == 1
        assert "monitor returned 0 (success), expected 7 (not running)" in result.stdout
        assert "passed: false" in result.stdout
        table = hactl("agent-test", str(path))
        assert table.exit_code == 1
        failed = [line for line in table.stdout.splitlines() if " FAIL " in line]
        assert [line.split()[0] for line in failed] == ["monitor", "lifecycle"]
        assert table.stdout.splitlines()[-1] == f"{path}: FAILED (2 of 6 checks)"


class TestUsageErrors:
    """An agent that does not exist or a malformed --param is a usage error: exit 2."""

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (
                ["ocf:nope:Nothing"],
                "error: agent ocf:nope:Nothing: "
                "/usr/lib/ocf/resource.d/nope/Nothing does not exist",
            ),
            (["Dummy"], "error: 'Dummy' is not an agent (ocf:PROVIDER:TYPE, hactl:TYPE, lsb:NAME)"),
            (["./no/such/agent"], "error: agent ./no/such/agent: "),
            (["hactl:Dummy", "--param", "state"], "error: --param 'state': expected KEY=VALUE"),
            (["hactl:Dummy", "--param", "a-b=1"], "error: --param 'a-b=1': expected KEY=VALUE"),
            (
                ["hactl:Dummy", "--param", "state=/a", "--param", "state=/b"],
                "error: --param state given twice",
            ),
        ],
    )
    def test_exit_2(self, args: list[str], message: str) -> None:
        result = hactl("agent-test", *args)
        assert result.exit_code == 2
        assert result.stderr.startswith(message)
        assert len(result.stderr.splitlines()) == 1
        assert result.stdout == ""

    def test_not_executable(self, write_agent: WriteAgent) -> None:
        path = write_agent("plain", "exit 0\n")
        path.chmod(0o644)
        result = hactl("agent-test", str(path))
        assert result.exit_code == 2
        assert result.stderr == f"error: agent {path}: {path} is not executable\n"
