"""`hactl agent-test AGENT [--param k=v …]`: check a resource agent as ocf-tester does.

Thin: parse the agent and the parameters, run `reconciler.ocf.agent_test.run_checks`
with a temporary HA_RSCTMP (removed afterwards), print a pass/fail table. Exit 0 when
every check passed, 1 when one failed, 2 for a usage error (unknown agent, bad --param).
"""

from __future__ import annotations

import os
import re
import socket
import sys
import tempfile
from pathlib import Path

import click

from reconciler.cli.context import cli_context, command_options, handle_errors, run
from reconciler.cli.output import print_json, print_table, print_yaml
from reconciler.errors import UsageError
from reconciler.model.base import PARAM_NAME_PATTERN
from reconciler.ocf import AgentRef, RunContext
from reconciler.ocf.agent_test import CheckResult, run_checks


@click.command("agent-test")
@click.argument("agent")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="KEY=VALUE",
    help="A parameter for the agent (OCF_RESKEY_KEY); repeat for more.",
)
@command_options
@handle_errors
def agent_test(agent: str, params: tuple[str, ...]) -> None:
    """Check a resource agent: meta-data, validate-all, start/stop twice, monitor, timeouts.

    AGENT is ocf:PROVIDER:TYPE, hactl:TYPE, lsb:NAME, or the path of an OCF agent
    not installed yet. Promotable agents are also promoted and demoted. The agent runs
    for real, with a temporary HA_RSCTMP; whatever it starts is stopped again.
    """
    ref = parse_agent(agent)
    values = parse_params(params)
    ctx = cli_context()
    with tempfile.TemporaryDirectory(prefix="hactl-agent-test-") as directory:
        context = RunContext(
            cluster=ctx.cluster,
            node=socket.gethostname().split(".")[0],
            rsctmp=Path(directory) / "rsctmp",
        )
        checks = run(run_checks(ref, values, context=context))
    passed = all(check.passed for check in checks)
    _print(agent, checks, passed, ctx.output)
    if not passed:
        sys.exit(1)


def parse_agent(agent: str) -> AgentRef:
    """An installed agent spec, or a path; UsageError for anything that cannot be run."""
    if "/" in agent:
        ref = AgentRef.from_path(Path(agent))
    else:
        try:
            ref = AgentRef.parse(agent)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    if not ref.path.is_file():
        raise UsageError(f"agent {agent}: {ref.path} does not exist")
    if not os.access(ref.path, os.X_OK):
        raise UsageError(f"agent {agent}: {ref.path} is not executable")
    return ref


def parse_params(params: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for param in params:
        name, equals, value = param.partition("=")
        if not equals or not re.match(PARAM_NAME_PATTERN, name):
            raise UsageError(f"--param {param!r}: expected KEY=VALUE with KEY a parameter name")
        if name in values:
            raise UsageError(f"--param {name} given twice")
        if "\x00" in value:
            raise UsageError(f"--param {name}: the value contains a NUL byte")
        values[name] = value
    return values


def _print(agent: str, checks: list[CheckResult], passed: bool, output: str) -> None:
    if output in ("json", "yaml"):
        data = {
            "agent": agent,
            "passed": passed,
            "checks": [
                {"name": check.name, "passed": check.passed, "detail": check.detail}
                for check in checks
            ],
        }
        (print_json if output == "json" else print_yaml)(data)
        return
    print_table(
        ["CHECK", "RESULT", "DETAIL"],
        [(check.name, "pass" if check.passed else "FAIL", check.detail) for check in checks],
    )
    failures = sum(not check.passed for check in checks)
    verdict = "passed" if passed else f"FAILED ({failures} of {len(checks)} checks)"
    click.echo(f"{agent}: {verdict}")
