"""The order the export lists resources in: the order hactl places them.

Pacemaker 2.1.5 assigns resources of equal priority in the order of the CIB's
resources section, and that order decides ties broken by load (the node with fewer
resources assigned so far wins). hactl places what runs first, most attached first,
each unit after the units it depends on; listing resources in that order lets
crm_simulate break the same ties the same way.
"""

from __future__ import annotations

from reconciler.scheduler.failures import Failures
from reconciler.scheduler.fencing import Status
from reconciler.scheduler.inputs import Inputs
from reconciler.scheduler.placement import Placer
from reconciler.snapshot import ClusterSnapshot


def placement_order(snapshot: ClusterSnapshot) -> list[str]:
    """Top-level resources and groups, in hactl's placement order."""
    inputs = Inputs(snapshot, snapshot.observed_at or 0.0)
    failures = Failures(inputs)
    status = Status(inputs, failures)
    return Placer(inputs, status=status, failures=failures).order()
