"""`hactl wait` and every `--wait`: block until the cluster reaches a state, showing
progress, and say with the exit code whether it did.

The check runs on everything in the store at each change (level-based, like the
leader), and at least once a second so that time-based changes (an intent expiring,
a failure timing out) are seen. On a terminal the progress is redrawn in place (rich);
elsewhere — a CI log — a plain line is printed whenever it changes. Exit codes: 0 the
state was reached; 1 it was not within the timeout, or a resource failed; 2 bad
input; 3 the store was unreachable.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Any, ParamSpec, Protocol, TypeVar

import click
from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.text import Text

from reconciler import keys
from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.convergence import Progress, progress
from reconciler.errors import HactlError, UsageError
from reconciler.model.values import Duration
from reconciler.observation import ClusterReading, read_cluster
from reconciler.status import status_view
from reconciler.store.base import Store

P = ParamSpec("P")
T = TypeVar("T")

DEFAULT_TIMEOUT = "5m"
RECHECK_S = 1.0
DEBOUNCE_S = 0.05
ROLES = ("Started", "Stopped", "Promoted")


class NotReached(HactlError):
    """The awaited state was not reached: timeout, or a failure that settles it."""

    exit_code = 1


@dataclass(frozen=True)
class Verdict:
    ok: bool
    message: str


Check = Callable[[ClusterReading, Progress], Verdict | None]
"""Looks at one reading and its progress: a verdict once settled, None to keep waiting."""


def converged(reading: ClusterReading, now: Progress) -> Verdict | None:
    if not now.converged:
        return None
    if now.failed:
        return Verdict(False, f"converged with failed resources: {', '.join(now.failed)}")
    return Verdict(True, f"converged: {now.settled}/{now.total} resources")


def drained(node: str) -> Check:
    """Converged with nothing possibly active on `node`."""

    def check(reading: ClusterReading, now: Progress) -> Verdict | None:
        if now.drained(node):
            return Verdict(True, f"node {node} is drained: nothing runs there")
        if now.converged:
            left = ", ".join(now.active_on.get(node, ()))
            return Verdict(False, f"node {node} still runs {left}, and nothing will move it")
        return None

    return check


def resource_role(resource: str, role: str) -> Check:
    def check(reading: ClusterReading, now: Progress) -> Verdict | None:
        if resource not in reading.declared.resources:
            raise UsageError(f"resource {resource} is not declared")
        view = status_view(
            reading.declared, reading.records, leader=reading.leader, decisions=reading.decisions
        )["resources"][resource]
        if view["role"] == role and not any(f.startswith(f"{resource} ") for f in now.failed):
            where = f" on {view['node']}" if view["node"] else ""
            return Verdict(True, f"resource {resource} is {role}{where}")
        failed = [f for f in now.failed if f.startswith(f"{resource} ")]
        if failed and now.converged:
            return Verdict(False, f"resource failed: {failed[0]}")
        return None

    return check


def parse_condition(text: str) -> Check:
    """`converged`, `resource/NAME=ROLE` or `node/NAME=drained`."""
    if text == "converged":
        return converged
    kind, _, rest = text.partition("/")
    name, _, state = rest.partition("=")
    if kind == "resource" and name and state in ROLES:
        return resource_role(name, state)
    if kind == "node" and name and state == "drained":
        return drained(name)
    raise UsageError(
        f"--for {text!r}: use converged, resource/NAME=ROLE ({'|'.join(ROLES)}) "
        "or node/NAME=drained"
    )


# --- displays ---------------------------------------------------------------------


class Display(Protocol):
    def show(self, now: Progress) -> None: ...

    def close(self) -> None: ...


class PlainDisplay:
    """One line whenever the progress changes: for logs and pipes."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._last = ""
        self._started = time.monotonic()

    def show(self, now: Progress) -> None:
        line = now.summary()
        if line != self._last:
            elapsed = time.monotonic() - self._started
            print(f"[{elapsed:6.1f}s] {line}", file=self._stream, flush=True)
            self._last = line

    def close(self) -> None:
        return None


class LiveDisplay:
    """A progress bar and the current actions, redrawn in place on a terminal."""

    def __init__(self, stream: IO[str]) -> None:
        self._live = Live(Text("reading the cluster…"), console=Console(file=stream))
        self._live.start()

    def show(self, now: Progress) -> None:
        bar = ProgressBar(total=max(now.total, 1), completed=now.settled, width=40)
        head = Text(f" {now.settled}/{now.total} resources converged")
        lines: list[Any] = [Group(bar, head)]
        busy = now.busy()
        lines += [Text(f"  • {item}") for item in busy[:8]]
        if len(busy) > 8:
            lines.append(Text(f"  … and {len(busy) - 8} more"))
        lines += [Text(f"  ✗ {item}", style="red") for item in now.failed]
        self._live.update(Group(*lines))

    def close(self) -> None:
        self._live.stop()


def display_for(stream: IO[str]) -> Display:
    return LiveDisplay(stream) if stream.isatty() else PlainDisplay(stream)


# --- the loop ---------------------------------------------------------------------


async def wait_for(
    store: Store, cluster: str, check: Check, *, within: float, display: Display
) -> Verdict:
    """Evaluate `check` on each change until it settles or `within` seconds pass."""
    deadline = time.monotonic() + within
    while True:
        reading = await read_cluster(store, cluster)
        now = await asyncio.to_thread(
            progress, reading.declared, reading.records, reading.decisions, now=time.time()
        )
        verdict = check(reading, now)
        display.show(now)
        if verdict is not None:
            return verdict
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Verdict(False, f"not reached within {within:g}s: {now.summary()}")
        watch = store.watch(keys.cluster_prefix(cluster), start_revision=reading.revision + 1)
        try:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(anext(watch), timeout=min(remaining, RECHECK_S))
        finally:
            await watch.aclose()  # type: ignore[attr-defined]
        await asyncio.sleep(DEBOUNCE_S)


async def wait_and_report(store: Store, cluster: str, check: Check, *, within: float) -> None:
    """Wait with a display on the command's output; raise NotReached when not reached."""
    stream = sys.stderr if cli_context().output in ("json", "yaml") else sys.stdout
    display = display_for(stream)
    try:
        verdict = await wait_for(store, cluster, check, within=within, display=display)
    finally:
        display.close()
    if not verdict.ok:
        raise NotReached(verdict.message)
    print(verdict.message, file=stream, flush=True)


def parse_timeout(text: str) -> float:
    return positive_duration(text, option="--timeout")


def positive_duration(text: str, *, option: str) -> float:
    """An option's duration in seconds; a usage error unless it is one and above 0."""
    try:
        seconds = Duration.parse(text).seconds
    except ValueError as exc:
        raise UsageError(f"{option}: {exc}") from exc
    if seconds <= 0:
        raise UsageError(f"{option} must be greater than 0")
    return seconds


def wait_options(func: Callable[P, T]) -> Callable[P, T]:
    """`--wait` and `--timeout` for commands that change the cluster."""
    decorated: Any = click.option(
        "--timeout",
        default=DEFAULT_TIMEOUT,
        show_default=True,
        metavar="DURATION",
        help="How long --wait waits (200ms, 30s, 5m, 1h).",
    )(func)
    decorated = click.option(
        "--wait", is_flag=True, help="Block until the cluster has converged on the change."
    )(decorated)
    return decorated  # type: ignore[no-any-return]


@click.command("wait")
@click.option(
    "--for",
    "condition",
    required=True,
    metavar="CONDITION",
    help="converged | resource/NAME=Started|Stopped|Promoted | node/NAME=drained",
)
@click.option("--timeout", default=DEFAULT_TIMEOUT, show_default=True, metavar="DURATION")
@command_options
@handle_errors
def wait(condition: str, timeout: str) -> None:
    """Block until the cluster reaches a state (for pipelines); exit 1 if it does not."""
    check = parse_condition(condition)
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            await wait_and_report(store, cluster, check, within=seconds)

    run(go())
