"""The node's watchdog: a separate process that self-fences the node unless petted.

Run by the agent (reconciler/agent/watchdog.py) as `python -I THIS_FILE …`, stdlib only,
so that it keeps working while the agent is frozen (SIGSTOP) or hung. It reads lines on
stdin, a pipe from the agent:

    pet <sent>     the agent's lease refresh sent at <sent> (time.monotonic(), which is
                   one clock for every process of the machine) succeeded
    fire <why>     self-fence now (the agent saw a poison pill for itself)
    stand-down     the agent shut down cleanly: exit without fencing

The first pet arms it. Armed, it fires when `sent + timeout` passes without a later pet,
or at end of file without a stand-down (the agent died or exited after losing its lease);
unarmed, end of file just ends it. Firing SIGKILLs the agent (through a pidfd opened at
start, so a recycled pid is never hit), then runs `fence_process` for the node: the same
process discovery as the fence driver, which kills every process carrying the node's
markers (the agent and everything its resources started). This process carries no
markers itself (the agent strips HACTL_NODE from its environment).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime

EXIT_GRACE_S = 1.0
"""At end of file, how long the agent gets to finish exiting before it is killed."""
DRIVER_TIMEOUT_S = 30.0


def say(event: str, **fields: object) -> None:
    """One JSON line on the agent's stderr, shaped like the agent's own log lines."""
    now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    line = {**fields, "event": event, "level": "critical", "timestamp": now}
    print(json.dumps(line), file=sys.stderr, flush=True)


class Watchdog:
    def __init__(self, options: argparse.Namespace) -> None:
        self.options = options
        self.agent_pid: int = options.agent_pid
        self.pidfd = os.pidfd_open(self.agent_pid)
        self.deadline: float | None = None

    def pet(self, sent: float) -> None:
        now = time.monotonic()
        deadline = min(sent, now) + self.options.timeout
        self.deadline = deadline if self.deadline is None else max(self.deadline, deadline)

    def agent_gone(self, within: float) -> bool:
        ready, _, _ = select.select([self.pidfd], [], [], max(within, 0.0))
        return bool(ready)

    def fire(self, why: str, *, grace: float = 0.0) -> int:
        say("watchdog.fired", node=self.options.node, reason=why, agent_pid=self.agent_pid)
        if not self.agent_gone(grace):
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(self.pidfd, signal.SIGKILL)
            self.agent_gone(5.0)
        env = {k: v for k, v in os.environ.items() if k != "HACTL_NODE"}
        try:
            done = subprocess.run(
                [self.options.driver],
                input=f"action=off\nport={self.options.node}\ncluster={self.options.cluster}\n",
                capture_output=True,
                text=True,
                env=env,
                timeout=DRIVER_TIMEOUT_S,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            say("watchdog.sweep_failed", node=self.options.node, error=str(exc))
            return 1
        say(
            "watchdog.swept",
            node=self.options.node,
            exit_code=done.returncode,
            output=(done.stdout + done.stderr).strip()[-500:],
        )
        return 0 if done.returncode == 0 else 1

    def run(self, fd: int) -> int:
        pending = b""
        while True:
            timeout = None if self.deadline is None else self.deadline - time.monotonic()
            if timeout is not None and timeout <= 0:
                return self.fire(f"not petted for {self.options.timeout:g}s")
            ready, _, _ = select.select([fd], [], [], timeout)
            if not ready:
                continue
            data = os.read(fd, 4096)
            if not data:
                if self.deadline is None:
                    return 0
                return self.fire("agent gone without standing down", grace=EXIT_GRACE_S)
            pending += data
            *lines, pending = pending.split(b"\n")
            for line in lines:
                command, _, argument = line.decode(errors="replace").partition(" ")
                if command == "pet":
                    self.pet(float(argument))
                elif command == "fire":
                    return self.fire(argument or "told to")
                elif command == "stand-down":
                    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="hactl-watchdog")
    parser.add_argument("--agent-pid", type=int, required=True)
    parser.add_argument("--timeout", type=float, required=True, help="seconds without a pet")
    parser.add_argument("--driver", required=True, help="path of fence_process")
    parser.add_argument("--node", required=True)
    parser.add_argument("--cluster", required=True)
    options = parser.parse_args(argv)
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the agent ends it, or SIGTERM/SIGKILL
    if os.getppid() != options.agent_pid:
        say("watchdog.refused", reason="not started by the agent it guards")
        return 2
    # Checked just before the pidfd is opened: the pid is this process's parent's.
    return Watchdog(options).run(sys.stdin.fileno())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
