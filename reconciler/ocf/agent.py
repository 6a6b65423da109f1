"""Which executable an agent spec names, and how it must be run (OCF or LSB).

The spec comes from a manifest (`ocf:PROVIDER:TYPE`, `hactl:TYPE`, `lsb:NAME`) and is
checked again here, not only by the model: the runner is the last step before an
execve as root, so a spec that could climb out of its directory (`ocf:..:..`) never
becomes a path. Paths themselves are accepted only through `AgentRef.from_path`, which
`hactl agent-test` uses to check an agent before it is installed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from reconciler.locate import agent_path

_NAME = r"[A-Za-z0-9][-A-Za-z0-9_.]*"
_SPEC = re.compile(
    rf"^(?:ocf:(?P<provider>{_NAME}):(?P<type>{_NAME})"
    rf"|hactl:(?P<own>{_NAME})"
    rf"|lsb:(?P<lsb>[A-Za-z0-9][-A-Za-z0-9_.@]*))$"
)

Standard = Literal["ocf", "lsb"]


@dataclass(frozen=True)
class AgentRef:
    """A resolved agent: how to run it and what to tell it about itself."""

    spec: str
    """As given: `ocf:heartbeat:Dummy`, `hactl:Dummy`, `lsb:apache2`, or a path."""
    standard: Standard
    """`ocf` (hactl's own agents are OCF agents) or `lsb`."""
    provider: str | None
    """OCF_RESOURCE_PROVIDER: `heartbeat`, `hactl`; None for LSB scripts and paths."""
    type: str
    """OCF_RESOURCE_TYPE: the agent's file name."""
    path: Path

    @classmethod
    def parse(cls, spec: str) -> AgentRef:
        """Resolve a spec; ValueError when it is not one (the file need not exist)."""
        match = _SPEC.match(spec)
        if match is None:
            raise ValueError(f"{spec!r} is not an agent (ocf:PROVIDER:TYPE, hactl:TYPE, lsb:NAME)")
        path = agent_path(spec)
        if match["provider"]:
            return cls(spec, "ocf", match["provider"], match["type"], path)
        if match["own"]:
            return cls(spec, "ocf", "hactl", match["own"], path)
        return cls(spec, "lsb", None, match["lsb"], path)

    @classmethod
    def from_path(cls, path: Path) -> AgentRef:
        """An OCF agent at an explicit path (as ocf-tester takes one)."""
        resolved = path.absolute()
        return cls(str(path), "ocf", None, resolved.name, resolved)

    @property
    def is_lsb(self) -> bool:
        return self.standard == "lsb"
