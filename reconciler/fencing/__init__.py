"""Fencing through FenceDevices: the fence runner and its pure parts.

`fence_node` tries a node's topology levels in order and returns a `FenceOutcome` (pure
data, secrets already masked) for the leader to record; `levels_for` is the pure choice of
devices behind it. The drivers themselves live in the project's `fence/` directory and
follow the fence-agents API (docs/fencing.md).
"""

from reconciler.fencing.options import OptionsError, driver_input, redact
from reconciler.fencing.outcome import Attempt, DriverAction, FenceAction, FenceOutcome
from reconciler.fencing.runner import DEFAULT_RETRIES, fence_node
from reconciler.fencing.topology import Level, levels_for

__all__ = [
    "DEFAULT_RETRIES",
    "Attempt",
    "DriverAction",
    "FenceAction",
    "FenceOutcome",
    "Level",
    "OptionsError",
    "driver_input",
    "fence_node",
    "levels_for",
    "redact",
]
