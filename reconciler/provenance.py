"""Who applied what from where: the user, the host and the git commit of the manifests."""

from __future__ import annotations

import getpass
import os
import socket
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

GIT_TIMEOUT_S = 5


def applied_by() -> str:
    """`user@host`, or $HACTL_APPLIED_BY (a CI pipeline may name its job)."""
    override = os.environ.get("HACTL_APPLIED_BY")
    if override:
        return override[:200]
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            timeout=GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def source_of(paths: Sequence[str | Path]) -> dict[str, Any]:
    """The paths applied and, when the first lies in a git work tree, its commit and
    whether the applied paths have uncommitted changes."""
    shown = [str(p) for p in paths]
    source: dict[str, Any] = {"paths": shown}
    real = [Path(p).resolve() for p in paths if str(p) != "-"]
    if not real:
        return source
    first = real[0] if real[0].is_dir() else real[0].parent
    top = _git(first, "rev-parse", "--show-toplevel")
    if top is None:
        return source
    commit = _git(first, "rev-parse", "HEAD")
    status = _git(Path(top), "status", "--porcelain", "--", *map(str, real))
    source["git"] = {
        "commit": commit,
        "dirty": bool(status) if status is not None else None,
        "root": top,
    }
    return source
