"""FenceDevice documents and a scriptable fence driver for the runner tests."""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path

from reconciler.model.kinds import FenceDevice

SCRIPTED = f"""#!{sys.executable}
# A fence driver for tests, steered by its own options (all but action/port/plug/nodename).
import os, subprocess, sys, time

text = sys.stdin.read()
opts = dict(line.partition("=")[::2] for line in text.splitlines())
if "dump" in opts:
    with open(opts["dump"], "a") as f:
        f.write(text)
if "log" in opts:
    with open(opts["log"], "a") as f:
        f.write(f"{{opts['name']}} {{opts['action']}} {{opts['port']}}\\n")
if opts.get("echo") == "true":
    print(text + "cluster=" + os.environ.get("HACTL_CLUSTER", ""))
    print(text, file=sys.stderr)
if "fail_times" in opts:
    count = int(open(opts["counter"]).read()) if os.path.exists(opts["counter"]) else 0
    with open(opts["counter"], "w") as f:
        f.write(str(count + 1))
    if count < int(opts["fail_times"]):
        print("transient failure")
        sys.exit(1)
if opts.get("hang") == "true":
    env = dict(os.environ, HACTL_FENCE_TEST=opts["token"])
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env=env)
    with open(opts["pidfile"] + ".tmp", "w") as f:
        f.write(f"{{os.getpid()}} {{child.pid}}")
    os.rename(opts["pidfile"] + ".tmp", opts["pidfile"])
    time.sleep(60)
if opts["action"] in opts.get("fail_on", "").split(","):
    sys.exit(1)
sys.exit(int(opts.get("exit", "0")))
"""


def write_driver(directory: Path) -> Path:
    path = directory / "scripted"
    path.write_text(SCRIPTED)
    path.chmod(0o755)
    return path


def device(
    name: str,
    *,
    level: int = 1,
    nodes: tuple[str, ...] = ("n1",),
    driver: str = "scripted",
    timeout: str = "10s",
    extra: Mapping[str, str] | None = None,
    **params: str | int | float | bool,
) -> FenceDevice:
    """A device; `extra` params are for names that clash with these arguments' own."""
    return FenceDevice.model_validate(
        {
            "metadata": {"name": name},
            "spec": {
                "driver": driver,
                "params": {"name": name, **params, **(extra or {})},
                "nodes": list(nodes),
                "level": level,
                "timeout": timeout,
            },
        }
    )
