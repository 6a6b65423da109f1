"""The runner with real executables: environment, isolation, timeouts, and hostile input."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from reconciler import locate
from reconciler.ocf import AgentRef, OcfResult, ParamValue, RunContext, run_action
from reconciler.ocf.environment import action_environment
from reconciler.ocf.runner import KILL_GRACE, OUTPUT_LIMIT
from tests.ocf.conftest import WriteAgent, act, alive, pid_in, read_environ
from tests.waiting import eventually, wait_until

ENV_DUMP = """\
out=$OCF_RESKEY_out
cat /proc/$$/environ >"$out/environ"
cat /proc/$$/stat >"$out/stat"
readlink /proc/$$/fd/0 >"$out/stdin"
pwd >"$out/cwd"
printf '%s\\n' "$@" >"$out/argv"
"""

HANG_WITH_GRANDCHILD = """\
echo $$ >"$OCF_RESKEY_out/agent"
sleep 300 &
echo $! >"$OCF_RESKEY_out/grandchild"
wait
"""


class TestEnvironment:
    """Every action sees exactly the SPEC §3 environment, nothing inherited from hactl."""

    async def test_every_variable(
        self,
        context: RunContext,
        own_agents: Path,
        write_agent: WriteAgent,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("HACTL_STORE_PASSWORD", "s3cret")
        write_agent("envdump", ENV_DUMP)
        params: dict[str, ParamValue] = {"out": str(tmp_path), "flag": True, "count": 3}
        result = await run_action(
            "hactl:envdump",
            "monitor",
            instance="web",
            context=context,
            timeout=7.5,
            params=params,
            interval=10,
        )
        assert result.result is OcfResult.SUCCESS, result.reason
        seen = read_environ(tmp_path / "environ")
        assert seen == action_environment(
            AgentRef.parse("hactl:envdump"),
            instance="web",
            params=params,
            context=context,
            timeout=7.5,
            interval=10,
        )
        assert seen["OCF_ROOT"] == "/usr/lib/ocf"
        assert seen["OCF_RESOURCE_INSTANCE"] == "web"
        assert (seen["OCF_RESOURCE_TYPE"], seen["OCF_RESOURCE_PROVIDER"]) == ("envdump", "hactl")
        assert (seen["OCF_RESKEY_flag"], seen["OCF_RESKEY_count"]) == ("true", "3")
        assert seen["OCF_RESKEY_CRM_meta_on_node"] == "node1"
        assert seen["OCF_RESKEY_CRM_meta_timeout"] == "7500"
        assert seen["OCF_RESKEY_CRM_meta_interval"] == "10000"
        assert seen["HA_RSCTMP"] == str(context.rsctmp)
        assert (seen["HACTL_CLUSTER"], seen["HACTL_NODE"]) == (context.cluster, "node1")
        assert "HACTL_STORE_PASSWORD" not in seen

    async def test_process_isolation(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(write_agent("envdump", ENV_DUMP))
        result = await act(agent, "monitor", context=context, out=str(tmp_path))
        assert result.succeeded
        pid, rest = (tmp_path / "stat").read_text().split(" ", 1)
        fields = rest.rpartition(")")[2].split()
        pgrp, session = fields[2], fields[3]
        assert pgrp == session == pid, "each action leads its own session and process group"
        assert (tmp_path / "stdin").read_text().strip() == "/dev/null"
        assert (tmp_path / "cwd").read_text().strip() == "/"
        assert (tmp_path / "argv").read_text() == "monitor\n"

    async def test_rsctmp_is_created_private(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        agent = AgentRef.from_path(write_agent("ok", "exit 0\n"))
        assert not context.rsctmp.exists()
        assert (await act(agent, context=context)).succeeded
        assert stat.S_IMODE(context.rsctmp.stat().st_mode) == 0o700

    async def test_rsctmp_writable_by_others_is_refused(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(write_agent("touch", 'touch "$HA_RSCTMP/ran"\n'))
        context.rsctmp.mkdir()
        context.rsctmp.chmod(0o777)
        result = await act(agent, context=context)
        assert result.result is OcfResult.ERR_PERM
        assert "writable by group or others" in result.reason
        assert not (context.rsctmp / "ran").exists()


class TestHostileParameters:
    """Parameters reach the agent verbatim as environment values; no shell ever sees them."""

    async def test_verbatim_and_inert(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        marker = tmp_path / "pwned"
        values = {
            "semicolon": "; rm -rf / ;",
            "substitution": f"$(touch {marker})",
            "backticks": f"`touch {marker}`",
            "quotes": "' \" \\ * ? [a] ~ $HOME ${PATH}",
            "newline": f"x\ntouch {marker}\n",
            "option": "-rf",
            "traversal": "../../../etc/passwd",
        }
        agent = AgentRef.from_path(write_agent("envdump", ENV_DUMP))
        result = await act(agent, context=context, out=str(tmp_path), params=values)
        assert result.succeeded
        seen = read_environ(tmp_path / "environ")
        for name, value in values.items():
            assert seen[f"OCF_RESKEY_{name}"] == value
        assert not marker.exists()

    async def test_huge_value_verbatim(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        value = "0123456789abcdef" * 6000  # 96,000 bytes, no NUL
        agent = AgentRef.from_path(write_agent("envdump", ENV_DUMP))
        assert (await act(agent, context=context, out=str(tmp_path), big=value)).succeeded
        assert read_environ(tmp_path / "environ")["OCF_RESKEY_big"] == value

    async def test_too_large_is_a_configuration_error(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(write_agent("touch", f"touch {tmp_path}/ran\n"))
        one = await act(agent, context=context, big="x" * 200_000)
        assert one.result is OcfResult.ERR_CONFIGURED
        assert "limits one environment entry" in one.reason
        many = {f"p{i}": "y" * 120_000 for i in range(100)}  # 12 MB: beyond ARG_MAX
        total = await act(agent, context=context, params=many)
        assert total.result is OcfResult.ERR_CONFIGURED
        assert total.reason == "parameters too large for the environment"
        assert not (tmp_path / "ran").exists()

    async def test_bad_names_and_nul(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = AgentRef.from_path(write_agent("ok", "exit 0\n"))
        bad_name = await act(agent, context=context, params={"a;b": "x"})
        assert bad_name.result is OcfResult.ERR_CONFIGURED
        nul = await act(agent, context=context, x="a\0b")
        assert nul.result is OcfResult.ERR_CONFIGURED
        assert "NUL" in nul.reason


class TestNotInstalled:
    """An agent that cannot be executed is 'not installed' (a hard error for this node)."""

    async def test_missing(self, context: RunContext, tmp_path: Path) -> None:
        result = await act(AgentRef.from_path(tmp_path / "nope"), context=context)
        assert result.result is OcfResult.ERR_INSTALLED
        assert result.reason == f"{tmp_path / 'nope'} does not exist"
        assert result.result.is_hard

    async def test_not_executable(self, context: RunContext, write_agent: WriteAgent) -> None:
        path = write_agent("plain", "exit 0\n")
        path.chmod(0o644)
        result = await act(AgentRef.from_path(path), context=context)
        assert result.result is OcfResult.ERR_INSTALLED
        assert result.reason.endswith("is not executable")

    async def test_directory(self, context: RunContext, tmp_path: Path) -> None:
        result = await act(AgentRef.from_path(tmp_path), context=context)
        assert result.result is OcfResult.ERR_INSTALLED
        assert result.reason.endswith("is not a file")

    async def test_bad_interpreter(self, context: RunContext, tmp_path: Path) -> None:
        path = tmp_path / "agent"
        path.write_text("#!/nonexistent/interpreter\n")
        path.chmod(0o755)
        result = await act(AgentRef.from_path(path), context=context)
        assert result.result is OcfResult.ERR_INSTALLED
        assert "cannot execute" in result.reason

    async def test_uninstalled_spec(self, context: RunContext) -> None:
        result = await act("ocf:nosuchprovider:Nothing", context=context)
        assert result.result is OcfResult.ERR_INSTALLED
        assert result.reason == "/usr/lib/ocf/resource.d/nosuchprovider/Nothing does not exist"

    @pytest.mark.parametrize("spec", ["ocf:..:..", "ocf:heartbeat", "hactl:../x", "lsb:", "x"])
    async def test_malformed_spec(self, context: RunContext, spec: str) -> None:
        result = await act(spec, context=context)
        assert result.result is OcfResult.ERR_CONFIGURED
        assert "is not an agent" in result.reason


class TestExitCodes:
    """Exit codes map to OCF results; the agent's own exit reason is reported."""

    @pytest.mark.parametrize("code", [*range(10), 42])
    async def test_mapping(self, context: RunContext, write_agent: WriteAgent, code: int) -> None:
        agent = AgentRef.from_path(write_agent("exits", 'exit "$OCF_RESKEY_code"\n'))
        result = await act(agent, "monitor", context=context, code=str(code))
        assert result.exit_code == code
        assert result.result.value == (code if code < 10 else 1)
        if code == 42:
            assert result.reason == "exit code 42 (generic error)"

    async def test_killed_by_signal(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = AgentRef.from_path(write_agent("crash", "kill -s SEGV $$\n"))
        result = await act(agent, context=context)
        assert (result.result, result.exit_code) == (OcfResult.ERR_GENERIC, -11)
        assert result.reason == "killed by SIGSEGV"

    @pytest.mark.usefixtures("debug_logs")
    async def test_exit_reason_and_output_logged(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        agent = AgentRef.from_path(
            write_agent(
                "fails",
                """\
                echo "starting"
                echo "ocf-exit-reason:first try" >&2
                echo "ocf-exit-reason:disk full" >&2
                exit 1
                """,
            )
        )
        with capture_logs() as logs:
            result = await act(agent, context=context)
        assert (result.result, result.reason) == (OcfResult.ERR_GENERIC, "disk full")
        assert result.stdout == "starting\n"
        [entry] = [e for e in logs if e["event"] == "agent.action_failed"]
        assert entry["log_level"] == "warning"
        assert (entry["action"], entry["instance"], entry["result"]) == (
            "start",
            "rsc1",
            "err_generic",
        )
        assert "disk full" in entry["stderr"] and entry["stdout"] == "starting"

    @pytest.mark.usefixtures("debug_logs")
    async def test_success_is_logged(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = AgentRef.from_path(write_agent("ok", "exit 0\n"))
        with capture_logs() as logs:
            await act(agent, context=context)
        assert [(e["event"], e["log_level"], e["result"]) for e in logs] == [
            ("agent.action", "info", "success")
        ]

    async def test_callers_bugs_raise(self, context: RunContext) -> None:
        with pytest.raises(ValueError, match="unknown action"):
            await act("hactl:Dummy", "reload", context=context)
        with pytest.raises(ValueError, match="timeout"):
            await act("hactl:Dummy", context=context, limit=0)


class TestTimeouts:
    """A timeout kills the action's whole process group, grandchildren included."""

    async def test_hanging_agent_and_grandchild(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(write_agent("hang", HANG_WITH_GRANDCHILD))
        result = await act(agent, context=context, limit=1.0, out=str(tmp_path))
        assert result.result is OcfResult.TIMEOUT
        assert result.exit_code is None
        assert result.reason == "timed out after 1s; its process group was killed"
        assert 1.0 <= result.duration < 1.0 + KILL_GRACE + 1.0
        agent_pid, grandchild = pid_in(tmp_path / "agent"), pid_in(tmp_path / "grandchild")
        assert not alive(agent_pid)
        assert not alive(grandchild)

    async def test_term_ignored_escalates_to_kill(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(
            write_agent(
                "stubborn",
                """\
                (trap '' TERM; exec sleep 300) &
                echo $! >"$OCF_RESKEY_out/grandchild"
                trap '' TERM
                wait
                """,
            )
        )
        result = await act(agent, context=context, limit=0.5, out=str(tmp_path))
        assert result.result is OcfResult.TIMEOUT
        assert result.duration >= 0.5 + KILL_GRACE
        grandchild = pid_in(tmp_path / "grandchild")
        wait_until(lambda: not alive(grandchild), within=5, what="SIGKILLed grandchild gone")

    async def test_cancelled_caller_kills_the_action(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(write_agent("hang", HANG_WITH_GRANDCHILD))
        task = asyncio.create_task(act(agent, context=context, limit=60, out=str(tmp_path)))

        async def grandchild_started() -> bool:
            path = tmp_path / "grandchild"
            return path.exists() and path.read_text().endswith("\n")

        await eventually(grandchild_started, within=5, what="grandchild started")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        grandchild = int((tmp_path / "grandchild").read_text())
        wait_until(lambda: not alive(grandchild), within=5, what="grandchild killed")

    async def test_daemon_holding_the_pipes_does_not_block(
        self, context: RunContext, write_agent: WriteAgent, tmp_path: Path
    ) -> None:
        agent = AgentRef.from_path(
            write_agent(
                "leaky",
                """\
                sleep 300 &
                echo $! >"$OCF_RESKEY_out/daemon"
                echo started
                """,
            )
        )
        result = await act(agent, context=context, limit=30, out=str(tmp_path))
        assert result.succeeded and result.stdout == "started\n"
        assert result.duration < 5
        assert alive(pid_in(tmp_path / "daemon")), "a normal exit kills nothing"

    async def test_output_is_bounded(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = AgentRef.from_path(
            write_agent("chatty", "head -c 3000000 /dev/zero | tr '\\0' x\nexit 0\n")
        )
        result = await act(agent, context=context)
        assert result.succeeded
        assert result.stdout == "x" * OUTPUT_LIMIT


class TestLsb:
    """LSB init scripts: start/stop as is, monitor runs status, status codes mapped."""

    @pytest.fixture
    def init_d(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        directory = tmp_path / "init.d"
        directory.mkdir()
        monkeypatch.setattr(locate, "LSB_DIR", directory)
        return directory

    def script(self, init_d: Path, name: str, status: int, tmp_path: Path) -> str:
        path = init_d / name
        path.write_text(
            "#!/bin/sh\n"
            f'printf "%s\\n" "$1" >>{tmp_path}/calls\n'
            f"cat /proc/$$/environ >{tmp_path}/environ\n"
            f'[ "$1" = status ] && exit {status}\n'
            "exit 0\n"
        )
        path.chmod(0o755)
        return f"lsb:{name}"

    @pytest.mark.parametrize(
        ("status", "result"),
        [
            (0, OcfResult.SUCCESS),
            (1, OcfResult.NOT_RUNNING),
            (3, OcfResult.NOT_RUNNING),
            (4, OcfResult.ERR_GENERIC),
        ],
    )
    async def test_monitor_runs_status(
        self,
        context: RunContext,
        init_d: Path,
        tmp_path: Path,
        status: int,
        result: OcfResult,
    ) -> None:
        spec = self.script(init_d, "svc", status, tmp_path)
        assert (await act(spec, "monitor", context=context)).result is result
        assert (tmp_path / "calls").read_text() == "status\n"

    async def test_start_stop_environment(
        self, context: RunContext, init_d: Path, tmp_path: Path
    ) -> None:
        spec = self.script(init_d, "svc", 3, tmp_path)
        assert (await act(spec, "start", context=context, ignored="x")).succeeded
        assert (await act(spec, "stop", context=context)).succeeded
        assert (tmp_path / "calls").read_text() == "start\nstop\n"
        seen = read_environ(tmp_path / "environ")
        assert seen["HACTL_CLUSTER"] == context.cluster
        assert not [name for name in seen if name.startswith(("OCF_", "HA_"))]

    @pytest.mark.parametrize("action", ["meta-data", "validate-all", "promote", "demote", "notify"])
    async def test_other_actions_unimplemented(
        self, context: RunContext, init_d: Path, tmp_path: Path, action: str
    ) -> None:
        spec = self.script(init_d, "svc", 0, tmp_path)
        result = await act(spec, action, context=context)
        assert result.result is OcfResult.ERR_UNIMPLEMENTED
        assert not (tmp_path / "calls").exists()
