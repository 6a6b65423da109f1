"""`agent-test` checks: good agents pass, broken ones fail with the precise reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reconciler.ocf import AgentRef, RunContext
from reconciler.ocf.agent_test import CheckResult, run_checks
from tests.ocf.conftest import SHIPPED_AGENTS, WriteAgent, debian_agent, processes_of
from tests.waiting import eventually, wait_until

SHIPPED_PARAMS: dict[str, dict[str, str]] = {
    "anything": {"binfile": "sleep", "cmdline_options": "300"}
}
BASIC_CHECKS = [
    "meta-data",
    "parameters",
    "validate-all",
    "monitor when stopped",
    "start",
    "start again (idempotent)",
    "monitor when started",
]
DOWN_CHECKS = ["stop", "stop again (idempotent)", "monitor after stop", "timeouts"]
PROMOTION_CHECKS = [
    "promote",
    "promote again (idempotent)",
    "monitor when promoted",
    "demote",
    "demote again (idempotent)",
    "monitor when demoted",
]

ACTIONS = """\
<action name="start" timeout="{start_timeout}"/>
<action name="stop" timeout="20s"/>
<action name="monitor" timeout="20s" interval="10s"/>
<action name="meta-data" timeout="5s"/>
<action name="validate-all" timeout="20s"/>"""


def script(
    *,
    start: str = 'touch "$state"; echo started >>"$HA_RSCTMP/log"',
    stop: str = 'rm -f "$state"',
    monitor: str = '[ -f "$state" ] || exit 7',
    promote: str = "exit 3",
    actions: str = ACTIONS,
    parameters: str = "",
    start_timeout: str = "20s",
) -> str:
    """A state-file agent with one behaviour swapped for a broken one."""
    return f"""\
state="$HA_RSCTMP/state"
case $1 in
meta-data)
    cat <<'END'
<?xml version="1.0"?>
<resource-agent name="Broken" version="0.1">
<parameters>{parameters}</parameters>
<actions>
{actions.format(start_timeout=start_timeout)}
</actions>
</resource-agent>
END
    ;;
validate-all) ;;
start) {start} ;;
stop) {stop} ;;
monitor) {monitor} ;;
promote|demote) {promote} ;;
*) exit 3 ;;
esac
"""


def by_name(checks: list[CheckResult]) -> dict[str, CheckResult]:
    return {check.name: check for check in checks}


def failures(checks: list[CheckResult]) -> dict[str, str]:
    return {check.name: check.detail for check in checks if not check.passed}


class TestGoodAgents:
    """Every shipped agent and Debian's Dummy pass every check, and leave nothing running."""

    @pytest.mark.parametrize("name", SHIPPED_AGENTS)
    async def test_shipped(self, context: RunContext, name: str) -> None:
        checks = await run_checks(
            AgentRef.parse(f"hactl:{name}"), SHIPPED_PARAMS.get(name, {}), context=context
        )
        assert failures(checks) == {}
        promotion = PROMOTION_CHECKS if name == "Stateful" else []
        assert [c.name for c in checks] == BASIC_CHECKS + promotion + DOWN_CHECKS
        assert processes_of(context.cluster) == []

    async def test_debian_heartbeat_dummy(self, context: RunContext) -> None:
        spec = debian_agent("heartbeat", "Dummy")
        checks = await run_checks(AgentRef.parse(spec), {}, context=context)
        assert failures(checks) == {}
        assert by_name(checks)["meta-data"].detail.startswith("Dummy: 2 parameters, actions ")

    @pytest.mark.parametrize("kind", ["Dummy", "Stateful"])
    async def test_debian_pacemaker_agents(
        self, context: RunContext, tmp_path: Path, kind: str
    ) -> None:
        spec = debian_agent("pacemaker", kind)
        params = {"state": str(tmp_path / "state")}
        checks = await run_checks(AgentRef.parse(spec), params, context=context)
        assert failures(checks) == {}

    async def test_lsb_script(
        self, context: RunContext, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        from reconciler import locate

        monkeypatch.setattr(locate, "LSB_DIR", tmp_path)
        (tmp_path / "svc").write_text(
            f"#!/bin/sh\nstate={tmp_path}/running\n"
            'case $1 in start) touch "$state" ;; stop) rm -f "$state" ;;\n'
            'status) [ -f "$state" ] || exit 3 ;; esac\n'
        )
        (tmp_path / "svc").chmod(0o755)
        checks = await run_checks(AgentRef.parse("lsb:svc"), {}, context=context)
        assert failures(checks) == {}
        assert [c.name for c in checks] == BASIC_CHECKS[3:] + DOWN_CHECKS


class TestBrokenAgents:
    """A deliberately broken agent fails the check it breaks, saying exactly why."""

    async def test_monitor_says_running_when_stopped(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        agent = write_agent("broken", script(monitor="exit 0"))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        assert failures(checks) == {
            "monitor when stopped": "monitor returned 0 (success), expected 7 (not running)",
            "lifecycle": "not started: the first monitor must say not running",
        }
        assert not (context.rsctmp / "log").exists(), "nothing was started"

    async def test_stop_not_idempotent(self, context: RunContext, write_agent: WriteAgent) -> None:
        stop = (
            '[ -f "$state" ] || { echo "ocf-exit-reason:already stopped" >&2; exit 1; }; '
            'rm "$state"'
        )
        agent = write_agent("broken", script(stop=stop))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        assert failures(checks) == {
            "stop again (idempotent)": (
                "stop returned 1 (generic error): already stopped, expected 0 (success)"
            )
        }

    async def test_start_not_idempotent(self, context: RunContext, write_agent: WriteAgent) -> None:
        start = '[ -f "$state" ] && exit 1; touch "$state"'
        agent = write_agent("broken", script(start=start))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        assert failures(checks) == {
            "start again (idempotent)": "start returned 1 (generic error), expected 0 (success)"
        }
        assert [c.name for c in checks][-4:] == DOWN_CHECKS, "stopped after the failure"
        assert not (context.rsctmp / "state").exists()

    async def test_start_beyond_its_timeout(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        agent = write_agent("broken", script(start="sleep 30", start_timeout="1s"))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        killed = "timed out after 1s; its process group was killed"
        assert failures(checks) == {
            "start": f"start returned {killed}, expected 0 (success)",
            "timeouts": f"start {killed}",
        }
        assert processes_of(context.cluster) == []

    async def test_stop_that_fails(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = write_agent("broken", script(stop="exit 1"))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        expected = "stop returned 1 (generic error), expected 0 (success)"
        assert failures(checks) == {
            "stop": expected,
            "stop again (idempotent)": expected,
            "monitor after stop": "monitor returned 0 (success), expected 7 (not running)",
            "cleanup: stop": expected,
        }

    async def test_interrupted_run_still_stops(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        agent = write_agent("broken", script(start='touch "$state"; sleep 30'))
        task = asyncio.create_task(run_checks(AgentRef.from_path(agent), {}, context=context))

        async def start_under_way() -> bool:
            return (context.rsctmp / "state").exists()

        await eventually(start_under_way, within=10, what="start under way")
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert not (context.rsctmp / "state").exists(), "the cleanup stop ran"
        wait_until(lambda: not processes_of(context.cluster), within=5, what="start killed")

    async def test_not_promoted_after_promote(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        actions = ACTIONS + '\n<action name="promote"/>\n<action name="demote"/>'
        agent = write_agent("broken", script(promote="exit 0", actions=actions))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        assert failures(checks) == {
            "monitor when promoted": "monitor returned 0 (success), expected 8 (running promoted)"
        }
        assert "demote" not in by_name(checks)
        assert by_name(checks)["stop"].passed

    async def test_meta_data_not_xml(self, context: RunContext, write_agent: WriteAgent) -> None:
        agent = write_agent("broken", script().replace("<?xml", "usage: <?xml"))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        [(name, detail)] = failures(checks).items()
        assert name == "meta-data"
        assert detail.startswith("meta-data is not well-formed XML: ")

    async def test_meta_data_without_monitor(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        actions = ACTIONS.replace('<action name="monitor" timeout="20s" interval="10s"/>', "")
        agent = write_agent("broken", script(actions=actions))
        checks = await run_checks(AgentRef.from_path(agent), {}, context=context)
        assert failures(checks) == {"meta-data": "no monitor action in <actions>"}

    async def test_required_parameter_missing(
        self, context: RunContext, write_agent: WriteAgent
    ) -> None:
        parameters = '<parameter name="config" required="1"><content type="string"/></parameter>'
        agent = write_agent("broken", script(parameters=parameters))
        checks = await run_checks(AgentRef.from_path(agent), {"typo": "1"}, context=context)
        assert failures(checks) == {
            "parameters": "required parameter not given: config; not a parameter of Broken: typo"
        }
        assert [c.name for c in checks] == ["meta-data", "parameters", "timeouts"]
