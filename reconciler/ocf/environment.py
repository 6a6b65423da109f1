"""The environment an action runs with: what Pacemaker gives agents, and nothing else.

Built from scratch for every action rather than inherited from the node agent, so
that the node agent's own secrets (a store password in its environment) never reach
an agent, a stray `OCF_RESKEY_*` in the shell that started hactl cannot change a
resource, and an action behaves the same however the node agent was started. The
parameters travel as environment variables and never through a shell (SPEC §2).

HACTL_CLUSTER and HACTL_NODE mark every process an action starts, daemons included:
the `fence_process` driver finds a node's processes by them in /proc/PID/environ.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from reconciler.locate import ocf_root
from reconciler.model.base import PARAM_NAME_PATTERN
from reconciler.ocf.agent import AgentRef

ParamValue = str | int | float | bool
"""A parameter as manifests hold it; agents get its string form (bools as true/false)."""

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
"""A fixed PATH: agents run as root, so no directory of the caller's PATH is trusted."""

OCF_VERSION = ("1", "1")
EXIT_REASON_PREFIX = "ocf-exit-reason:"
"""Agents print `<prefix>reason` on stderr (ocf_exit_reason); hactl reports the reason."""

MAX_ENTRY_BYTES = 128 * 1024
"""The kernel's limit on one environment string (MAX_ARG_STRLEN), `NAME=value` and NUL."""

_PARAM_NAME = re.compile(PARAM_NAME_PATTERN)
_RESERVED_PREFIX = "CRM_meta_"


class ParameterError(ValueError):
    """A parameter that cannot be given to an agent (the configuration is wrong)."""


@dataclass(frozen=True)
class RunContext:
    """Where actions run: the cluster and node they belong to, and that node's HA_RSCTMP.

    Several node agents of a test cluster share one machine, so each has its own
    HA_RSCTMP: state files of one never answer the monitors of another.
    """

    cluster: str
    node: str
    rsctmp: Path


@dataclass(frozen=True)
class CloneInfo:
    """A clone instance, described to the agent as Pacemaker does (CRM_meta_clone…)."""

    instance: int
    max: int
    per_node: int = 1
    promotable: bool = False
    promoted_max: int = 1
    promoted_per_node: int = 1

    def meta(self) -> dict[str, str]:
        """The CRM_meta_* attributes (without prefix) that clone-aware agents read.

        Promotable clones get both the current names (promoted_*) and the older
        master_* ones: drbd and others still read only the latter. hactl sends no
        notifications, so `notify` is false, which agents such as drbd check.
        """
        meta = {
            "clone": str(self.instance),
            "clone_max": str(self.max),
            "clone_node_max": str(self.per_node),
            "globally_unique": "false",
            "notify": "false",
        }
        if self.promotable:
            meta |= {
                "promotable": "true",
                "promoted_max": str(self.promoted_max),
                "promoted_node_max": str(self.promoted_per_node),
                "master_max": str(self.promoted_max),
                "master_node_max": str(self.promoted_per_node),
            }
        return meta


def param_string(value: ParamValue) -> str:
    """The string an agent sees for a parameter value."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def milliseconds(seconds: float) -> str:
    return str(round(seconds * 1000))


def action_environment(
    agent: AgentRef,
    *,
    instance: str,
    params: Mapping[str, ParamValue],
    context: RunContext,
    timeout: float,
    interval: float = 0.0,
    clone: CloneInfo | None = None,
) -> dict[str, str]:
    """The complete environment of one action; ParameterError if a parameter cannot be sent.

    LSB init scripts take no parameters and get no OCF variables, as under Pacemaker.
    """
    env = {"PATH": SYSTEM_PATH, "HACTL_CLUSTER": context.cluster, "HACTL_NODE": context.node}
    if agent.is_lsb:
        return env
    env |= {
        "OCF_ROOT": str(ocf_root()),
        "OCF_RA_VERSION_MAJOR": OCF_VERSION[0],
        "OCF_RA_VERSION_MINOR": OCF_VERSION[1],
        "OCF_EXIT_REASON_PREFIX": EXIT_REASON_PREFIX,
        "OCF_RESOURCE_INSTANCE": instance,
        "OCF_RESOURCE_TYPE": agent.type,
        "HA_RSCTMP": str(context.rsctmp),
    }
    if agent.provider is not None:
        env["OCF_RESOURCE_PROVIDER"] = agent.provider
    for name, value in params.items():
        if not _PARAM_NAME.match(name):
            raise ParameterError(f"parameter name {name!r} cannot be an environment variable")
        if name.startswith(_RESERVED_PREFIX):
            raise ParameterError(f"parameter {name!r}: the {_RESERVED_PREFIX} prefix is hactl's")
        env[f"OCF_RESKEY_{name}"] = param_string(value)
    meta = {
        "on_node": context.node,
        "timeout": milliseconds(timeout),
        "interval": milliseconds(interval),
    }
    if clone is not None:
        meta |= clone.meta()
    env |= {f"OCF_RESKEY_{_RESERVED_PREFIX}{key}": value for key, value in meta.items()}
    _check_sizes(env)
    return env


def _check_sizes(env: Mapping[str, str]) -> None:
    for name, value in env.items():
        if "\x00" in value:
            raise ParameterError(f"{name} contains a NUL byte")
        size = len(os.fsencode(name)) + len(os.fsencode(value)) + 2
        if size > MAX_ENTRY_BYTES:
            raise ParameterError(
                f"{name} is {size} bytes; the kernel limits one environment entry "
                f"to {MAX_ENTRY_BYTES} bytes"
            )
