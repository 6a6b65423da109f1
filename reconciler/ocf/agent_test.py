"""The checks of `hactl agent-test`: does an agent keep the OCF contract hactl relies on?

Like ocf-tester: the meta-data is a valid document naming its parameters and actions;
validate-all accepts the parameters; monitor tells a stopped resource (7) from a
started one (0); start and stop succeed twice in a row (idempotent); promotable agents
also promote (monitor 8) and demote (monitor 0); every action ends within the timeout
its meta-data advises. The result is pure data — the CLI prints it.

The checks drive a real instance, so they are careful with it: nothing is started
when the first monitor does not say "not running" (that instance may be real, or the
agent cannot be trusted to tell), and whatever was started is stopped at the end,
even after a failed check.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from reconciler.ocf.agent import AgentRef
from reconciler.ocf.environment import CloneInfo, RunContext
from reconciler.ocf.metadata import AgentMetadata, MetadataError, parse_metadata
from reconciler.ocf.results import OcfResult
from reconciler.ocf.runner import ActionResult, run_action

DEFAULT_TIMEOUT = 20.0
"""Seconds for an action whose timeout the meta-data does not advise (Pacemaker's default)."""
METADATA_TIMEOUT = 10.0
MANDATORY_ACTIONS = ("start", "stop", "monitor", "meta-data")

SUCCESS = OcfResult.SUCCESS
STOPPED = OcfResult.NOT_RUNNING
PROMOTED = OcfResult.RUNNING_PROMOTED


@dataclass(frozen=True)
class CheckResult:
    """One check: its name, whether it passed, and what happened (why it failed)."""

    name: str
    passed: bool
    detail: str


@dataclass
class _Run:
    """One agent-test: what has run so far, and whether an instance may be running."""

    agent: AgentRef
    params: Mapping[str, str]
    context: RunContext
    instance: str
    default_timeout: float
    metadata: AgentMetadata | None = None
    checks: list[CheckResult] = field(default_factory=list)
    timings: list[tuple[ActionResult, float]] = field(default_factory=list)
    maybe_running: bool = False

    def timeout(self, action: str) -> float:
        if action == "meta-data" and self.metadata is None:
            return METADATA_TIMEOUT
        if self.metadata is None:
            return self.default_timeout
        return self.metadata.timeout(action, self.default_timeout)

    def record(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append(CheckResult(name, passed, detail))
        return passed

    async def action(self, action: str) -> ActionResult:
        limit = self.timeout(action)
        promotable = self.metadata is not None and self.metadata.promotable
        if action in ("start", "promote"):  # before: a start cut short may have started it
            self.maybe_running = True
        result = await run_action(
            self.agent,
            action,
            instance=self.instance,
            context=self.context,
            timeout=limit,
            params=self.params,
            clone=CloneInfo(instance=0, max=1, promotable=True) if promotable else None,
        )
        self.timings.append((result, limit))
        return result

    async def expect(self, name: str, action: str, expected: OcfResult) -> bool:
        result = await self.action(action)
        if result.result is expected:
            return self.record(name, True, f"{_describe(result)} in {result.duration:.2f}s")
        wanted = _code(expected)
        return self.record(name, False, f"{action} returned {_describe(result)}, expected {wanted}")


async def run_checks(
    agent: AgentRef,
    params: Mapping[str, str],
    *,
    context: RunContext,
    instance: str = "agent-test",
    default_timeout: float = DEFAULT_TIMEOUT,
) -> list[CheckResult]:
    """Check `agent` with `params`; one CheckResult per check, in the order they ran."""
    run = _Run(agent, params, context, instance, default_timeout)
    try:
        await _sequence(run)
    finally:
        if run.maybe_running:
            await run.expect("cleanup: stop", "stop", SUCCESS)
    _check_timeouts(run)
    return run.checks


async def _sequence(run: _Run) -> None:
    if not run.agent.is_lsb:
        await _check_metadata(run)
        if not _check_parameters(run):
            return
        await _check_validate(run)
    if not await run.expect("monitor when stopped", "monitor", STOPPED):
        run.record("lifecycle", False, "not started: the first monitor must say not running")
        return
    await _lifecycle(run)


async def _check_metadata(run: _Run) -> None:
    result = await run.action("meta-data")
    if result.result is not OcfResult.SUCCESS:
        run.record("meta-data", False, f"meta-data returned {_describe(result)}")
        return
    try:
        metadata = parse_metadata(result.stdout)
    except MetadataError as exc:
        run.record("meta-data", False, str(exc))
        return
    if missing := [a for a in MANDATORY_ACTIONS if a not in metadata.action_names]:
        run.record("meta-data", False, f"no {', '.join(missing)} action in <actions>")
        return
    run.metadata = metadata
    kind = "promotable, " if metadata.promotable else ""
    run.record(
        "meta-data",
        True,
        f"{metadata.name}: {kind}{len(metadata.parameters)} parameters, "
        f"actions {', '.join(sorted(metadata.action_names))}",
    )


def _check_parameters(run: _Run) -> bool:
    """Required parameters are given (else nothing more runs); unknown ones are a typo."""
    if run.metadata is None:
        return True
    declared = {parameter.name for parameter in run.metadata.parameters}
    missing = [p.name for p in run.metadata.parameters if p.required and p.name not in run.params]
    unknown = sorted(set(run.params) - declared)
    problems = []
    if missing:
        problems.append(f"required parameter not given: {', '.join(missing)}")
    if unknown:
        problems.append(f"not a parameter of {run.metadata.name}: {', '.join(unknown)}")
    given = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items())) or "none given"
    run.record("parameters", not problems, "; ".join(problems) or given)
    return not missing


async def _check_validate(run: _Run) -> None:
    if run.metadata is not None and "validate-all" not in run.metadata.action_names:
        run.record("validate-all", True, "not advertised by the meta-data; skipped")
        return
    await run.expect("validate-all", "validate-all", SUCCESS)


async def _lifecycle(run: _Run) -> None:
    """Up as far as it goes (start, promote), then always down again (stop, stop, monitor)."""
    promotable = run.metadata is not None and run.metadata.promotable
    up: list[tuple[str, str, OcfResult]] = [
        ("start", "start", SUCCESS),
        ("start again (idempotent)", "start", SUCCESS),
        ("monitor when started", "monitor", SUCCESS),
    ]
    if promotable:
        up += [
            ("promote", "promote", SUCCESS),
            ("promote again (idempotent)", "promote", SUCCESS),
            ("monitor when promoted", "monitor", PROMOTED),
            ("demote", "demote", SUCCESS),
            ("demote again (idempotent)", "demote", SUCCESS),
            ("monitor when demoted", "monitor", SUCCESS),
        ]
    for name, action, expected in up:
        if not await run.expect(name, action, expected):
            break
    first = await run.expect("stop", "stop", SUCCESS)
    again = await run.expect("stop again (idempotent)", "stop", SUCCESS)
    confirmed = await run.expect("monitor after stop", "monitor", STOPPED)
    run.maybe_running = not ((first or again) and confirmed)


def _check_timeouts(run: _Run) -> None:
    timed_out = [r for r, _ in run.timings if r.result is OcfResult.TIMEOUT]
    if timed_out:
        run.record("timeouts", False, "; ".join(f"{r.action} {r.reason}" for r in timed_out))
        return
    if not run.timings:
        return
    slowest, limit = max(run.timings, key=lambda timing: timing[0].duration / timing[1])
    run.record(
        "timeouts",
        True,
        f"every action ended in time; slowest: {slowest.action} "
        f"{slowest.duration:.2f}s of {limit:g}s",
    )


def _code(result: OcfResult) -> str:
    return f"{result.value} ({result.meaning})"


def _describe(result: ActionResult) -> str:
    """`7 (not running)`, with the agent's own reason and raw exit code when they add to it."""
    if result.result is OcfResult.TIMEOUT:
        return result.reason
    text = _code(result.result)
    if result.exit_code is not None and result.exit_code != result.result.value:
        text = f"exit {result.exit_code} = {text}"
    if result.reason != result.result.meaning:
        text += f": {result.reason}"
    return text
