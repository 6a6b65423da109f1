"""Resource agents: running their actions (OCF and LSB), reading their meta-data, checking them.

The node agent calls `run_action` for every start, stop, monitor, promote and demote;
`hactl agent-test` calls `run_checks`. See docs/agents.md for the environment agents
get, how timeouts kill them, and what each exit code makes the reconciler do.
"""

from reconciler.ocf.agent import AgentRef
from reconciler.ocf.environment import CloneInfo, ParameterError, ParamValue, RunContext
from reconciler.ocf.metadata import (
    Action,
    AgentMetadata,
    MetadataError,
    Parameter,
    parse_duration,
    parse_metadata,
)
from reconciler.ocf.results import MonitorRole, OcfResult, Recovery, monitor_role
from reconciler.ocf.runner import ACTIONS, ActionResult, run_action

__all__ = [
    "ACTIONS",
    "Action",
    "ActionResult",
    "AgentMetadata",
    "AgentRef",
    "CloneInfo",
    "MetadataError",
    "MonitorRole",
    "OcfResult",
    "ParamValue",
    "Parameter",
    "ParameterError",
    "Recovery",
    "RunContext",
    "monitor_role",
    "parse_duration",
    "parse_metadata",
    "run_action",
]
