"""Running one fence driver: options on stdin, its own session, nothing left behind.

The driver is exec'd from an argv list (never a shell) in a new session; its options are
written to its stdin, which is then closed (drivers read until end of file). A fence
driver's work is done when it exits, so whatever it leaves in its process group is
killed then (unlike a resource agent's `start`, whose daemons must survive). On timeout
the group gets SIGTERM — drivers such as fence_meatware clean up on it — and SIGKILL
after a short grace; a cancelled caller (a leader that lost its lease) kills it at once.
How: reconciler/process_group.py, shared with the resource agents' runner.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from reconciler.process_group import Outcome, run_in_session

OUTPUT_LIMIT = 64 * 1024
"""Bytes kept per stream: far more than any fence agent prints, little enough to hold."""
KILL_GRACE = 0.5
"""Seconds between SIGTERM and SIGKILL of a timed-out driver's process group."""

DriverRun = Outcome
"""How one driver run ended and what it printed (raw: redact before showing it)."""


async def run_driver(
    argv: Sequence[str],
    stdin: bytes,
    *,
    env: Mapping[str, str],
    timeout: float,  # noqa: ASYNC109 - kills the process group, not a cancellation
) -> DriverRun:
    """Run a driver with `stdin` as its input; OSError if it cannot be executed."""
    return await run_in_session(
        argv,
        env=env,
        timeout=timeout,
        stdin=stdin,
        output_limit=OUTPUT_LIMIT,
        kill_grace=KILL_GRACE,
        kill_leftovers=True,
    )
