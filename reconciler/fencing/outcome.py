"""What a fencing did, as pure data: the leader records it, `hactl fence history` shows it.

Everything here is already redacted: driver output has had every secret masked before it
became an `Attempt`, and no option values are kept at all, so a record can be stored,
logged and printed as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

FenceAction = Literal["reboot", "off"]
"""What the cluster asks for: `reboot` (Pacemaker's default) or `off`."""
DriverAction = Literal["reboot", "off", "on"]
"""What a driver is run with: `on` only when a multi-device level turns `reboot` into off+on."""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One run of one device's driver (or the reason it could not run)."""

    device: str
    driver: str
    level: int
    action: DriverAction
    number: int
    """1 for the first try of this device in this fencing, 2 for its first retry…"""
    succeeded: bool
    exit_code: int | None
    """None: the driver did not run (see `error`) or was not reaped in time."""
    timed_out: bool
    error: str | None
    """Why it did not run or did not count: driver missing, a refused param, a timeout."""
    stdout: str
    stderr: str
    """The last characters of what the driver printed, secrets masked."""
    started: datetime
    duration: float

    def to_record(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "driver": self.driver,
            "level": self.level,
            "action": self.action,
            "number": self.number,
            "succeeded": self.succeeded,
            "exitCode": self.exit_code,
            "timedOut": self.timed_out,
            "error": self.error,
            "stdout": self.stdout,
            "stderr": self.stderr,
            "started": self.started.isoformat(),
            "duration": round(self.duration, 3),
        }


@dataclass(frozen=True, slots=True)
class FenceOutcome:
    """The result of fencing one node: succeeded or not, by which level and devices, and how."""

    node: str
    cluster: str
    action: FenceAction
    succeeded: bool
    level: int | None
    """The level that fenced the node; None if none did."""
    devices: tuple[str, ...]
    """The devices of that level (all of them took part); empty if none succeeded."""
    attempts: tuple[Attempt, ...]
    started: datetime
    finished: datetime
    reason: str
    """One line for humans: how it was fenced, or why it was not."""

    @property
    def device(self) -> str | None:
        """The fencing device(s) as one name, `a+b` for a level of several; None on failure."""
        return "+".join(self.devices) if self.devices else None

    def to_record(self) -> dict[str, Any]:
        """A JSON-ready dict (camelCase keys, ISO 8601 times) for the store."""
        return {
            "node": self.node,
            "cluster": self.cluster,
            "action": self.action,
            "succeeded": self.succeeded,
            "level": self.level,
            "devices": list(self.devices),
            "attempts": [attempt.to_record() for attempt in self.attempts],
            "started": self.started.isoformat(),
            "finished": self.finished.isoformat(),
            "reason": self.reason,
        }
