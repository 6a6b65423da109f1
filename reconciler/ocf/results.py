"""What an agent's exit code means, and what the reconciler should make of it.

OCF agents exit 0-9 with fixed meanings (the OCF Resource Agent API, 1.1); LSB init
scripts share the codes 0-7 for every action except `status`, which has its own.
Everything hactl decides from an action's outcome starts from `OcfResult`, so the
mapping lives here once — including Pacemaker's recovery classes (soft: restart or
move; hard: never again on this node; fatal: nowhere until the spec changes), which
operators already know from `crm_mon`.
"""

from __future__ import annotations

import enum
from typing import Literal

MonitorRole = Literal["Started", "Promoted", "Stopped", "Failed"]
"""What a monitor says about the instance on this node (the roles of `hactl status`)."""


class Recovery(enum.StrEnum):
    """What a result asks of the reconciler when it is not the expected one."""

    NONE = "none"
    """Not an error in itself (whether it was expected depends on the action)."""
    SOFT = "soft"
    """Transient: recover in place (restart), count a failure, move past the threshold."""
    HARD = "hard"
    """Specific to this node: never retry here; run the resource elsewhere."""
    FATAL = "fatal"
    """The configuration is wrong everywhere: stop it, wait for a changed spec."""


class OcfResult(enum.Enum):
    """An action's outcome: the OCF exit codes 0-9, plus a timeout."""

    SUCCESS = 0
    ERR_GENERIC = 1
    ERR_ARGS = 2
    ERR_UNIMPLEMENTED = 3
    ERR_PERM = 4
    ERR_INSTALLED = 5
    ERR_CONFIGURED = 6
    NOT_RUNNING = 7
    RUNNING_PROMOTED = 8
    FAILED_PROMOTED = 9
    TIMEOUT = -1
    """The action did not finish within its timeout; its process group was killed."""

    @property
    def meaning(self) -> str:
        return _MEANINGS[self]

    @property
    def recovery(self) -> Recovery:
        return _RECOVERY[self]

    @property
    def is_error(self) -> bool:
        """True for the codes that report a failure whatever the action was."""
        return self.recovery is not Recovery.NONE

    @property
    def is_hard(self) -> bool:
        """Do not retry this resource on this node (hard or fatal)."""
        return self.recovery in (Recovery.HARD, Recovery.FATAL)


_MEANINGS: dict[OcfResult, str] = {
    OcfResult.SUCCESS: "success",
    OcfResult.ERR_GENERIC: "generic error",
    OcfResult.ERR_ARGS: "invalid parameters",
    OcfResult.ERR_UNIMPLEMENTED: "action not implemented",
    OcfResult.ERR_PERM: "insufficient privileges",
    OcfResult.ERR_INSTALLED: "not installed",
    OcfResult.ERR_CONFIGURED: "not configured",
    OcfResult.NOT_RUNNING: "not running",
    OcfResult.RUNNING_PROMOTED: "running promoted",
    OcfResult.FAILED_PROMOTED: "failed promoted",
    OcfResult.TIMEOUT: "timed out",
}

# Pacemaker's classes (Pacemaker Explained, "OCF Return Codes"): a node-specific problem
# (bad arguments here, missing binary, permissions) bans the node; a configuration the
# agent rejects as such is wrong on every node; everything else is worth a restart.
_RECOVERY: dict[OcfResult, Recovery] = {
    OcfResult.SUCCESS: Recovery.NONE,
    OcfResult.NOT_RUNNING: Recovery.NONE,
    OcfResult.RUNNING_PROMOTED: Recovery.NONE,
    OcfResult.ERR_GENERIC: Recovery.SOFT,
    OcfResult.FAILED_PROMOTED: Recovery.SOFT,
    OcfResult.TIMEOUT: Recovery.SOFT,
    OcfResult.ERR_ARGS: Recovery.HARD,
    OcfResult.ERR_UNIMPLEMENTED: Recovery.HARD,
    OcfResult.ERR_PERM: Recovery.HARD,
    OcfResult.ERR_INSTALLED: Recovery.HARD,
    OcfResult.ERR_CONFIGURED: Recovery.FATAL,
}

_OCF_CODES = {member.value: member for member in OcfResult if member.value >= 0}

# LSB `status` codes (LSB 3.1 §20.2): 1 "dead, pid file exists", 2 "dead, lock file
# exists" and 3 "not running" all mean stopped; 4 is "unknown". 150/151 are the
# application-range codes Pacemaker gives "not installed" and "insufficient privileges".
_LSB_STATUS: dict[int, OcfResult] = {
    0: OcfResult.SUCCESS,
    1: OcfResult.NOT_RUNNING,
    2: OcfResult.NOT_RUNNING,
    3: OcfResult.NOT_RUNNING,
    150: OcfResult.ERR_INSTALLED,
    151: OcfResult.ERR_PERM,
}


def from_ocf_exit(code: int) -> OcfResult:
    """An OCF agent's exit status; codes outside 0-9 (and deaths by signal) are errors."""
    return _OCF_CODES.get(code, OcfResult.ERR_GENERIC)


def from_lsb_exit(action: str, code: int) -> OcfResult:
    """An LSB init script's exit status for `action` (`monitor` runs `status`).

    For every action but status, LSB and OCF agree on 0-7; anything above is an error.
    """
    if action in ("monitor", "status"):
        return _LSB_STATUS.get(code, OcfResult.ERR_GENERIC)
    if 0 <= code <= OcfResult.NOT_RUNNING.value:
        return _OCF_CODES[code]
    return OcfResult.ERR_GENERIC


def monitor_role(result: OcfResult, *, probe: bool = False) -> MonitorRole:
    """What a monitor result says about the instance on this node.

    A probe (the one-off monitor at agent start, interval 0) that finds the agent's
    software not installed means the resource cannot be running here, as Pacemaker
    reads it; everywhere else an error means Failed: the instance's state is unknown
    and it must be stopped (successfully) before it may start anywhere else.
    """
    match result:
        case OcfResult.SUCCESS:
            return "Started"
        case OcfResult.RUNNING_PROMOTED:
            return "Promoted"
        case OcfResult.NOT_RUNNING:
            return "Stopped"
        case OcfResult.ERR_INSTALLED if probe:
            return "Stopped"
    return "Failed"
