"""Real processes for the fencing tests, each cleaned up by its PID.

Every process a test starts carries HACTL_FENCE_TEST=<a random token of that test> in its
environment; at the end each PID the test knows of (the ones it started, the daemons and
children they reported) is killed, and only if it still carries that token, so a recycled
PID is never hit. Node and cluster names are random too: a fencing in these tests can only
ever match the test's own processes.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
FENCE_PROCESS = ROOT / "fence" / "fence_process"
FENCE_MEATWARE = ROOT / "fence" / "fence_meatware"
TOKEN_VAR = "HACTL_FENCE_TEST"
PROMPT = 10.0
"""Seconds a process gets to start or a driver to finish (a loaded two-core machine)."""

SLEEP = "import time; time.sleep(60)"
DAEMON = """
import os, sys, time
pidfile = sys.argv[1]
if os.fork():
    os._exit(0)
os.setsid()
if os.fork():
    os._exit(0)
with open(pidfile + ".tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename(pidfile + ".tmp", pidfile)
time.sleep(60)
"""
FORKER = """
import os, sys, time
with open(sys.argv[1], "a", buffering=1) as log:
    for _ in range(300):
        pid = os.fork()
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        log.write(f"{pid}\\n")
        time.sleep(0.005)
time.sleep(60)
"""


def unique(prefix: str) -> str:
    return f"{prefix}{secrets.token_hex(4)}"


def state(pid: int) -> str | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return text[text.rfind(")") + 2]


def alive(pid: int) -> bool:
    """Running or stopped; a zombie runs nothing and counts as gone."""
    return state(pid) not in (None, "Z", "X")


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without any HACTL_* variable, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("HACTL_")}
    return env | extra


class Processes:
    """What one test started; `cleanup` kills what is left by PID."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.token = secrets.token_hex(8)
        self.popens: list[subprocess.Popen[bytes]] = []
        self.pids: list[int] = []
        self.pid_logs: list[Path] = []

    def start(
        self, argv: Sequence[str], *, executable: str = sys.executable, **env: str
    ) -> subprocess.Popen[bytes]:
        popen = subprocess.Popen(
            list(argv),
            executable=executable,
            env=clean_env(**{TOKEN_VAR: self.token}, **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.popens.append(popen)
        wait_until(lambda: self.carries(popen.pid), within=PROMPT, what="process started")
        return popen

    def agent(self, node: str, cluster: str | None, *, program: str = "hactl", **env: str) -> int:
        """A fake node agent: argv `hactl … agent --node N [--cluster C]`, no HACTL_NODE."""
        args = [program, "-c", SLEEP, "agent", "--node", node]
        args += ["--cluster", cluster] if cluster else []
        return self.start(args, **env).pid

    def marked(self, node: str, cluster: str) -> int:
        """A resource-like process: HACTL_NODE and HACTL_CLUSTER in its environment."""
        return self.start(["python3", "-c", SLEEP], HACTL_NODE=node, HACTL_CLUSTER=cluster).pid

    def daemon(self, node: str, cluster: str) -> int:
        """A double-forked daemon (its own session, parent gone) carrying the markers."""
        pidfile = self.tmp / f"daemon-{len(self.pids)}.pid"
        starter = self.start(
            ["python3", "-c", DAEMON, str(pidfile)], HACTL_NODE=node, HACTL_CLUSTER=cluster
        )
        starter.wait(PROMPT)
        wait_until(pidfile.exists, within=PROMPT, what="daemon pid file")
        pid = int(pidfile.read_text())
        self.pids.append(pid)
        return pid

    def forker(self, node: str, cluster: str) -> tuple[int, Path]:
        """A process forking a child every 5 ms; the children's PIDs go to the returned file."""
        log = self.tmp / f"forker-{len(self.pid_logs)}.pids"
        log.touch()
        self.pid_logs.append(log)
        pid = self.start(
            ["python3", "-c", FORKER, str(log)], HACTL_NODE=node, HACTL_CLUSTER=cluster
        ).pid
        return pid, log

    def carries(self, pid: int) -> bool:
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False
        return f"{TOKEN_VAR}={self.token}".encode() in environ

    def cleanup(self) -> None:
        pids = [p.pid for p in self.popens] + self.pids
        for log in self.pid_logs:
            if log.exists():
                pids += [int(line) for line in log.read_text().split()]
        for pid in pids:
            if alive(pid) and self.carries(pid):
                os.kill(pid, signal.SIGKILL)
        for popen in self.popens:
            popen.wait(PROMPT)


def run_driver(
    driver: Path, stdin: str, *, argv: Sequence[str] = (), **env: str
) -> subprocess.CompletedProcess[str]:
    """Run a fence driver as hactl would (stdin closed after the options), bounded."""
    return subprocess.run(
        [str(driver), *argv],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=PROMPT * 3,
        env=clean_env(**env),
        check=False,
    )


def options(**values: str) -> str:
    return "".join(f"{key}={value}\n" for key, value in values.items())
