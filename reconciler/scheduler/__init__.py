"""The scheduler: a pure function from a ClusterSnapshot and a time to a Transition.

Pacemaker's scheduler semantics (scores, colocation, order, groups, clones, fencing,
failures, quorum), rebuilt as a pipeline of small modules; see docs/scheduler.md for
the rules and every deliberate difference from Pacemaker.
"""

from reconciler.scheduler.pipeline import schedule
from reconciler.scheduler.terms import Term
from reconciler.scheduler.transition import (
    Action,
    Explanation,
    Fencing,
    Placement,
    Transition,
)

__all__ = ["Action", "Explanation", "Fencing", "Placement", "Term", "Transition", "schedule"]
