"""Where resource agents and fence drivers live (SPEC §3).

`ocf:PROVIDER:TYPE` → `$OCF_ROOT/resource.d/PROVIDER/TYPE` (OCF_ROOT defaults to
/usr/lib/ocf, so Debian's resource-agents work as installed); `hactl:TYPE` → this
project's `agents/TYPE`; `lsb:NAME` → `/etc/init.d/NAME`. Fence drivers: this
project's `fence/NAME`, then `PATH` (so Debian's fence-agents work as installed).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OCF_ROOT = "/usr/lib/ocf"
LSB_DIR = Path("/etc/init.d")


def ocf_root() -> Path:
    return Path(os.environ.get("OCF_ROOT") or DEFAULT_OCF_ROOT)


def project_agents_dir() -> Path:
    return Path(os.environ.get("HACTL_AGENTS_DIR") or PROJECT_ROOT / "agents")


def project_fence_dir() -> Path:
    return Path(os.environ.get("HACTL_FENCE_DIR") or PROJECT_ROOT / "fence")


def agent_path(agent: str) -> Path:
    """The executable an agent spec names (whether or not it exists)."""
    scheme, _, rest = agent.partition(":")
    match scheme:
        case "ocf":
            provider, _, kind = rest.partition(":")
            return ocf_root() / "resource.d" / provider / kind
        case "hactl":
            return project_agents_dir() / rest
        case "lsb":
            return LSB_DIR / rest
    raise ValueError(f"unknown agent class in {agent!r}")


def find_agent(agent: str) -> Path | None:
    path = agent_path(agent)
    return path if path.is_file() and os.access(path, os.X_OK) else None


def find_fence_driver(driver: str) -> Path | None:
    if "/" in driver or driver.startswith("."):
        return None
    own = project_fence_dir() / driver
    if own.is_file() and os.access(own, os.X_OK):
        return own
    found = shutil.which(driver)
    return Path(found) if found else None
