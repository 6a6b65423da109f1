"""Run one action of a resource agent and say what came of it.

`run_action` is the node agent's only way to touch a resource. It never raises for
anything about the resource — a missing agent, a parameter that cannot be sent, an
agent that hangs or crashes all come back as an `ActionResult` with the OCF code a
Pacemaker executor would report — so the reconcile loop has one path for every
outcome. It raises only for a caller's bug (an unknown action, a timeout ≤ 0).
"""

from __future__ import annotations

import errno
import os
import signal
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import structlog

from reconciler.ocf.agent import AgentRef
from reconciler.ocf.environment import (
    EXIT_REASON_PREFIX,
    CloneInfo,
    ParameterError,
    ParamValue,
    RunContext,
    action_environment,
)
from reconciler.ocf.results import OcfResult, from_lsb_exit, from_ocf_exit
from reconciler.process_group import Outcome, run_in_session

ACTIONS = frozenset(
    {"start", "stop", "monitor", "promote", "demote", "meta-data", "validate-all", "notify"}
)
LSB_ACTIONS = {"start": "start", "stop": "stop", "monitor": "status"}
"""What an LSB init script is asked for each action it has; the others are unimplemented."""
LOG_OUTPUT_CHARS = 4000
"""The tail of an action's stdout/stderr that goes into the log line."""
OUTPUT_LIMIT = 256 * 1024
"""Bytes kept per stream; large enough for any agent's meta-data, small enough for a log."""
KILL_GRACE = 1.0
"""Seconds between SIGTERM and SIGKILL of a timed-out action's process group."""

log = structlog.get_logger("hactl.ocf")


@dataclass(frozen=True)
class ActionResult:
    """The outcome of one action, with what the agent printed (bounded)."""

    agent: str
    action: str
    instance: str
    result: OcfResult
    reason: str
    """One line: the agent's exit reason, hactl's when it could not run it, else the meaning."""
    exit_code: int | None = None
    """The raw exit status; negative: killed by that signal; None: not run or timed out."""
    duration: float = 0.0
    stdout: str = ""
    stderr: str = ""

    @property
    def succeeded(self) -> bool:
        """The action did what it was asked; a monitor succeeds whenever it could tell."""
        if self.action == "monitor":
            return not self.result.is_error
        return self.result is OcfResult.SUCCESS


async def run_action(
    agent: AgentRef | str,
    action: str,
    *,
    instance: str,
    context: RunContext,
    timeout: float,  # noqa: ASYNC109 - the agent's own timeout, passed to it and enforced by a kill
    params: Mapping[str, ParamValue] | None = None,
    interval: float = 0.0,
    clone: CloneInfo | None = None,
) -> ActionResult:
    """Run `action` of `agent` for resource `instance` on this node, within `timeout` seconds.

    `interval` is the monitor's interval in seconds (0: a probe), which agents read
    as OCF_RESKEY_CRM_meta_interval; `clone` describes a clone instance.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if timeout <= 0:
        raise ValueError("timeout must be greater than 0")
    spec = agent.spec if isinstance(agent, AgentRef) else agent

    def refused(result: OcfResult, reason: str) -> ActionResult:
        outcome = ActionResult(spec, action, instance, result, reason)
        _log(outcome, context)
        return outcome

    try:
        ref = agent if isinstance(agent, AgentRef) else AgentRef.parse(agent)
    except ValueError as exc:
        return refused(OcfResult.ERR_CONFIGURED, str(exc))
    if ref.is_lsb and action not in LSB_ACTIONS:
        return refused(OcfResult.ERR_UNIMPLEMENTED, f"LSB init scripts have no {action} action")
    try:
        env = action_environment(
            ref,
            instance=instance,
            params=params or {},
            context=context,
            timeout=timeout,
            interval=interval,
            clone=clone,
        )
    except ParameterError as exc:
        return refused(OcfResult.ERR_CONFIGURED, str(exc))
    if not ref.is_lsb and (problem := prepare_rsctmp(context.rsctmp)):
        return refused(OcfResult.ERR_PERM, problem)
    if not ref.path.is_file():
        missing = "is not a file" if ref.path.exists() else "does not exist"
        return refused(OcfResult.ERR_INSTALLED, f"{ref.path} {missing}")
    if not os.access(ref.path, os.X_OK):
        return refused(OcfResult.ERR_INSTALLED, f"{ref.path} is not executable")
    argv = [str(ref.path), LSB_ACTIONS[action] if ref.is_lsb else action]
    try:
        # A normal exit kills nothing: daemons that a `start` put in the background must live.
        outcome = await run_in_session(
            argv,
            env=env,
            timeout=timeout,
            output_limit=OUTPUT_LIMIT,
            kill_grace=KILL_GRACE,
            kill_leftovers=False,
        )
    except OSError as exc:
        if exc.errno == errno.E2BIG:
            return refused(OcfResult.ERR_CONFIGURED, "parameters too large for the environment")
        return refused(OcfResult.ERR_INSTALLED, f"cannot execute {ref.path}: {exc.strerror}")
    result = _result(ref, action, outcome)
    done = ActionResult(
        agent=spec,
        action=action,
        instance=instance,
        result=result,
        reason=_reason(result, outcome, timeout),
        exit_code=None if outcome.timed_out else outcome.exit_code,
        duration=outcome.duration,
        stdout=outcome.stdout.decode("utf-8", "replace"),
        stderr=outcome.stderr.decode("utf-8", "replace"),
    )
    _log(done, context, pid=outcome.pid, truncated=outcome.truncated)
    return done


def prepare_rsctmp(path: Path) -> str | None:
    """Create HA_RSCTMP (0700) if needed; the reason it is unsafe to use, if it is.

    State files there decide what a monitor reports, so a directory that someone else
    can write to could make hactl believe a resource is stopped while it runs.
    """
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError as exc:
        return f"HA_RSCTMP {path}: {exc.strerror}"
    if not stat.S_ISDIR(info.st_mode):
        return f"HA_RSCTMP {path} is not a directory"
    if info.st_uid != os.geteuid():
        return f"HA_RSCTMP {path} belongs to uid {info.st_uid}, not to hactl's"
    if info.st_mode & 0o022:
        return f"HA_RSCTMP {path} is writable by group or others"
    return None


def _result(ref: AgentRef, action: str, outcome: Outcome) -> OcfResult:
    if outcome.timed_out:
        return OcfResult.TIMEOUT
    code = outcome.exit_code if outcome.exit_code is not None else -1
    return from_lsb_exit(action, code) if ref.is_lsb else from_ocf_exit(code)


def _reason(result: OcfResult, outcome: Outcome, timeout: float) -> str:
    if outcome.timed_out:
        return f"timed out after {timeout:g}s; its process group was killed"
    if outcome.exit_code is not None and outcome.exit_code < 0:
        return f"killed by {signal.Signals(-outcome.exit_code).name}"
    stated = [
        line[len(EXIT_REASON_PREFIX) :].strip()
        for line in outcome.stderr.decode("utf-8", "replace").splitlines()
        if line.startswith(EXIT_REASON_PREFIX)
    ]
    if stated and stated[-1]:
        return stated[-1][:500]
    if result is OcfResult.ERR_GENERIC and outcome.exit_code not in (None, 1):
        return f"exit code {outcome.exit_code} (generic error)"
    return result.meaning


def _log(done: ActionResult, context: RunContext, **extra: object) -> None:
    fields: dict[str, object] = {
        "agent": done.agent,
        "action": done.action,
        "instance": done.instance,
        "node": context.node,
        "result": done.result.name.lower(),
        "reason": done.reason,
        "exit_code": done.exit_code,
        "duration_ms": round(done.duration * 1000),
        **extra,
    }
    for name in ("stdout", "stderr"):
        if text := getattr(done, name).strip():
            fields[name] = text[-LOG_OUTPUT_CHARS:]
    if not done.succeeded:
        log.warning("agent.action_failed", **fields)
    elif done.action in ("monitor", "meta-data"):
        log.debug("agent.action", **fields)
    else:
        log.info("agent.action", **fields)
