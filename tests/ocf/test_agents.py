"""The agents hactl ships (agents/), and Debian's, run under the runner unchanged."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from reconciler.ocf import CloneInfo, OcfResult, RunContext, parse_metadata, run_action
from tests.ocf.conftest import (
    AGENTS_DIR,
    SHIPPED_AGENTS,
    WriteAgent,
    act,
    alive,
    debian_agent,
    pid_in,
    read_environ,
)
from tests.waiting import wait_until


class TestScripts:
    """Each shipped agent is a POSIX sh script that parses and passes shellcheck."""

    def test_the_three_agents_ship(self) -> None:
        assert {"Dummy", "Stateful", "anything"} <= set(SHIPPED_AGENTS)

    @pytest.mark.parametrize("name", SHIPPED_AGENTS)
    def test_posix_sh(self, name: str) -> None:
        path = AGENTS_DIR / name
        assert path.read_text().startswith("#!/bin/sh\n")
        assert os.access(path, os.X_OK)
        shell = shutil.which("dash") or "sh"
        subprocess.run([shell, "-n", str(path)], check=True, timeout=10)

    @pytest.mark.parametrize("name", SHIPPED_AGENTS)
    def test_shellcheck(self, name: str) -> None:
        if shutil.which("shellcheck") is None:
            pytest.skip("shellcheck is not installed (Debian package shellcheck)")
        subprocess.run(["shellcheck", "--shell=sh", str(AGENTS_DIR / name)], check=True, timeout=60)

    @pytest.mark.parametrize("name", SHIPPED_AGENTS)
    async def test_meta_data(self, context: RunContext, name: str) -> None:
        result = await act(f"hactl:{name}", "meta-data", context=context)
        assert result.succeeded
        metadata = parse_metadata(result.stdout)
        assert metadata.name == name
        assert {"start", "stop", "monitor", "meta-data", "validate-all"} <= metadata.action_names
        assert metadata.promotable is (name == "Stateful")


class TestDummy:
    """hactl:Dummy: a state file in HA_RSCTMP, idempotent, with switchable faults."""

    async def test_lifecycle(self, context: RunContext) -> None:
        codes = [
            (await act("hactl:Dummy", action, context=context)).result.value
            for action in ("monitor", "start", "start", "monitor", "stop", "stop", "monitor")
        ]
        assert codes == [7, 0, 0, 0, 0, 0, 7]

    async def test_state_file_in_rsctmp_or_given(self, context: RunContext, tmp_path: Path) -> None:
        await act("hactl:Dummy", context=context)
        assert (context.rsctmp / "Dummy-rsc1.state").is_file()
        state = tmp_path / "elsewhere.state"
        await act("hactl:Dummy", context=context, state=str(state))
        assert state.is_file()

    async def test_monitor_fails_while_the_file_exists(
        self, context: RunContext, tmp_path: Path
    ) -> None:
        fault = tmp_path / "fail-monitor"
        params = {"fail_monitor_file": str(fault)}
        fault.touch()
        assert (
            await act("hactl:Dummy", "monitor", context=context, params=params)
        ).result.value == 7
        await act("hactl:Dummy", context=context, params=params)
        failed = await act("hactl:Dummy", "monitor", context=context, params=params)
        assert failed.result is OcfResult.ERR_GENERIC
        assert failed.reason == f"fail_monitor_file {fault} exists"
        fault.unlink()
        assert (await act("hactl:Dummy", "monitor", context=context, params=params)).succeeded

    async def test_stop_fails_while_the_file_exists(
        self, context: RunContext, tmp_path: Path
    ) -> None:
        fault = tmp_path / "fail-stop"
        params = {"fail_stop_file": str(fault)}
        await act("hactl:Dummy", context=context, params=params)
        fault.touch()
        stop = await act("hactl:Dummy", "stop", context=context, params=params)
        assert stop.result is OcfResult.ERR_GENERIC
        assert stop.reason == f"fail_stop_file {fault} exists"
        assert (
            await act("hactl:Dummy", "monitor", context=context, params=params)
        ).result.value == 0
        fault.unlink()
        assert (await act("hactl:Dummy", "stop", context=context, params=params)).succeeded

    async def test_start_fails_while_the_file_exists(
        self, context: RunContext, tmp_path: Path
    ) -> None:
        fault = tmp_path / "fail-start"
        fault.touch()
        start = await act("hactl:Dummy", context=context, fail_start_file=str(fault))
        assert start.result is OcfResult.ERR_GENERIC
        assert (await act("hactl:Dummy", "monitor", context=context)).result.value == 7

    async def test_delay_beyond_the_timeout(self, context: RunContext) -> None:
        result = await act("hactl:Dummy", context=context, limit=0.3, start_delay="30")
        assert result.result is OcfResult.TIMEOUT

    async def test_configuration_errors(self, context: RunContext, tmp_path: Path) -> None:
        bad_delay = await act("hactl:Dummy", "validate-all", context=context, stop_delay="-1")
        assert (bad_delay.result, bad_delay.reason) == (
            OcfResult.ERR_CONFIGURED,
            "delay '-1' is not a number of seconds",
        )
        assert (await act("hactl:Dummy", context=context, stop_delay="x")).result.value == 6
        assert (await act("hactl:Dummy", "stop", context=context, stop_delay="x")).succeeded
        missing = await act("hactl:Dummy", context=context, state=str(tmp_path / "no/x.state"))
        assert missing.result is OcfResult.ERR_ARGS
        relative = await act("hactl:Dummy", "validate-all", context=context, state="x.state")
        assert relative.result is OcfResult.ERR_CONFIGURED

    async def test_unknown_action(self, context: RunContext) -> None:
        assert (await act("hactl:Dummy", "promote", context=context)).result.value == 3


class TestStateful:
    """hactl:Stateful: unpromoted after start, promoted after promote, monitor 0/8/7."""

    async def run(self, context: RunContext, *actions: str, **params: str) -> list[int]:
        clone = CloneInfo(instance=0, max=2, promotable=True)
        return [
            (
                await run_action(
                    "hactl:Stateful",
                    action,
                    instance="db-state",
                    context=context,
                    timeout=10,
                    params=params,
                    clone=clone,
                )
            ).result.value
            for action in actions
        ]

    async def test_roles(self, context: RunContext) -> None:
        assert await self.run(
            context,
            *("monitor", "promote", "demote", "start", "start", "monitor"),
            *("promote", "promote", "monitor", "start", "demote", "demote", "monitor"),
            *("stop", "stop", "monitor"),
        ) == [7, 7, 7, 0, 0, 0, 0, 0, 8, 8, 0, 0, 0, 0, 0, 7]

    async def test_stop_from_promoted(self, context: RunContext) -> None:
        assert await self.run(context, "start", "promote", "stop", "monitor") == [0, 0, 0, 7]

    async def test_monitor_fault_by_role(self, context: RunContext, tmp_path: Path) -> None:
        fault = tmp_path / "fail"
        fault.touch()
        params = {"fail_monitor_file": str(fault)}
        assert await self.run(context, "monitor", "start", "monitor", **params) == [7, 0, 1]
        assert await self.run(context, "promote", "monitor", **params) == [0, 9]

    async def test_unreadable_state_fails_but_stops(self, context: RunContext) -> None:
        context.rsctmp.mkdir(mode=0o700)
        (context.rsctmp / "Stateful-db-state.state").write_text("garbage\n")
        assert await self.run(context, "monitor", "start", "stop", "monitor") == [1, 1, 0, 7]

    async def test_notify(self, context: RunContext) -> None:
        assert await self.run(context, "notify") == [0]


class TestAnything:
    """hactl:anything: a supervised daemon, argv passed verbatim, stopped with its children."""

    @pytest.fixture
    def program(self, write_agent: WriteAgent, tmp_path: Path) -> Path:
        """Records its argv (after the first, an output directory) and its child, then waits."""
        return write_agent(
            "program",
            """\
            out=$1
            shift
            printf '%s\\n' "$@" >"$out/argv.new"
            mv "$out/argv.new" "$out/argv"  # whole when it appears: the tests wait for it
            echo "program says hello"
            sleep 300 &
            echo $! >"$out/child"
            wait
            """,
        )

    async def test_daemon_lifecycle(
        self, context: RunContext, program: Path, tmp_path: Path
    ) -> None:
        log = tmp_path / "program.log"
        params = {"binfile": str(program), "cmdline_options": str(tmp_path), "logfile": str(log)}
        assert (
            await act("hactl:anything", "validate-all", context=context, params=params)
        ).succeeded
        assert (
            await act("hactl:anything", "monitor", context=context, params=params)
        ).result.value == 7
        assert (await act("hactl:anything", context=context, params=params)).succeeded
        assert (await act("hactl:anything", context=context, params=params)).succeeded
        pid = int((context.rsctmp / "anything-rsc1.pid").read_text().split()[0])
        child = pid_in(tmp_path / "child")
        assert alive(pid) and alive(child)
        assert (await act("hactl:anything", "monitor", context=context, params=params)).succeeded
        wait_until(lambda: "hello" in log.read_text(), within=5, what="output in the log file")
        # fence_process finds a node's daemons by these variables
        daemon_env = read_environ(Path(f"/proc/{pid}/environ"))
        assert (daemon_env["HACTL_CLUSTER"], daemon_env["HACTL_NODE"]) == (context.cluster, "node1")

        assert (await act("hactl:anything", "stop", context=context, params=params)).succeeded
        assert not alive(pid)
        wait_until(lambda: not alive(child), within=5, what="the daemon's child stopped too")
        assert (await act("hactl:anything", "stop", context=context, params=params)).succeeded
        assert (
            await act("hactl:anything", "monitor", context=context, params=params)
        ).result.value == 7

    async def test_cmdline_options_are_words_only(
        self, context: RunContext, program: Path, tmp_path: Path
    ) -> None:
        marker = tmp_path / "pwned"
        options = f'{tmp_path}  ; touch {marker} $(touch {marker}) `id` * ~ "a b" \\n\t$HOME'
        await act("hactl:anything", context=context, binfile=str(program), cmdline_options=options)
        wait_until(lambda: (tmp_path / "argv").exists(), within=5, what="argv recorded")
        argv = (tmp_path / "argv").read_text().splitlines()
        words = [";", "touch", str(marker), "$(touch", f"{marker})", "`id`", "*", "~"]
        assert argv == [*words, '"a', 'b"', "\\n", "$HOME"]
        assert not marker.exists()

    async def test_arguments_one_per_line(
        self, context: RunContext, program: Path, tmp_path: Path
    ) -> None:
        arguments = f"{tmp_path}\na b\n c \n\n$(id)\n"
        await act("hactl:anything", context=context, binfile=str(program), arguments=arguments)
        wait_until(lambda: (tmp_path / "argv").exists(), within=5, what="argv recorded")
        assert (tmp_path / "argv").read_text().splitlines() == ["a b", " c ", "$(id)"]

    async def test_term_ignored_then_killed(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        ready = context.rsctmp.parent / "stubborn-ready"
        stubborn = write_agent(
            "stubborn", f"trap '' TERM\ntouch {ready}\nwhile :; do sleep 1; done\n"
        )
        params = {"binfile": str(stubborn), "stop_timeout": "1"}
        await act("hactl:anything", context=context, params=params)
        # stop only once the daemon ignores TERM, or the test races its `trap`
        wait_until(ready.exists, within=5, what="daemon ignores TERM")
        pid = int((context.rsctmp / "anything-rsc1.pid").read_text().split()[0])
        stop = await act("hactl:anything", "stop", context=context, params=params)
        assert stop.succeeded and stop.duration >= 1
        assert not alive(pid)

    async def test_reused_pid_is_not_ours(self, context: RunContext) -> None:
        """A pid file whose process has another start time names a stranger: never signal it."""
        stranger = subprocess.Popen(["sleep", "300"])  # noqa: ASYNC220 - a bystander
        try:
            context.rsctmp.mkdir(mode=0o700)
            (context.rsctmp / "anything-rsc1.pid").write_text(f"{stranger.pid}\n1\n")
            params = {"binfile": "sleep", "cmdline_options": "300"}
            monitor = await act("hactl:anything", "monitor", context=context, params=params)
            assert monitor.result is OcfResult.ERR_GENERIC
            assert monitor.reason == (
                f"process {stranger.pid} of pid file '{context.rsctmp}/anything-rsc1.pid' is gone"
            )
            assert (await act("hactl:anything", "stop", context=context, params=params)).succeeded
            assert stranger.poll() is None, "the stranger was left alone"
        finally:
            stranger.kill()
            stranger.wait()

    async def test_configuration_errors(self, context: RunContext) -> None:
        async def validate(**params: str) -> tuple[int, str]:
            result = await act("hactl:anything", "validate-all", context=context, params=params)
            return result.result.value, result.reason

        assert await validate() == (6, "binfile is required")
        assert await validate(binfile="no-such-program-here") == (
            5,
            "binfile 'no-such-program-here' is not an executable program here",
        )
        assert (await validate(binfile="sleep", cmdline_options="1", arguments="1"))[0] == 6
        assert (await validate(binfile="sleep", stop_timeout="soon"))[0] == 6
        assert (await validate(binfile="sleep", workdir="/no/such/dir"))[0] == 2


class TestDebianAgents:
    """Debian's packaged agents run under hactl's runner as they are."""

    async def test_heartbeat_dummy(self, context: RunContext) -> None:
        spec = debian_agent("heartbeat", "Dummy")
        codes = [
            (await act(spec, action, context=context)).result.value
            for action in ("validate-all", "monitor", "start", "monitor")
        ]
        assert codes == [0, 7, 0, 0]
        assert (context.rsctmp / "Dummy-rsc1.state").is_file(), "state in this node's HA_RSCTMP"
        codes = [
            (await act(spec, action, context=context)).result.value
            for action in ("stop", "stop", "monitor")
        ]
        assert codes == [0, 0, 7]

    async def test_pacemaker_dummy(self, context: RunContext, tmp_path: Path) -> None:
        spec = debian_agent("pacemaker", "Dummy")
        state = str(tmp_path / "dummy.state")
        codes = [
            (await act(spec, action, context=context, state=state)).result.value
            for action in ("monitor", "start", "monitor", "stop", "monitor")
        ]
        assert codes == [7, 0, 0, 0, 7]

    async def test_pacemaker_stateful(self, context: RunContext, tmp_path: Path) -> None:
        spec = debian_agent("pacemaker", "Stateful")
        clone = CloneInfo(instance=0, max=2, promotable=True)
        codes = []
        for action in ("monitor", "start", "monitor", "promote", "monitor", "demote", "stop"):
            result = await run_action(
                spec,
                action,
                instance="state",
                context=context,
                timeout=20,
                params={"state": str(tmp_path / "stateful.state")},
                clone=clone,
            )
            codes.append(result.result.value)
        assert codes == [7, 0, 0, 0, 8, 0, 0]
