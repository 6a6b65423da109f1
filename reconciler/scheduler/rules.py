"""Location rules over node attributes, evaluated the way Pacemaker evaluates them.

Values compare as numbers when both sides read as numbers, as strings otherwise
(SPEC §2). A missing attribute makes every comparison false except `ne` (Pacemaker's
rule: a value that is not there is not equal to anything), so `pingd lt 1` does not
hold on a node that has no `pingd` yet; write `not_defined` for that case.

Rules are shared by many resources in large configurations, so each distinct
expression is evaluated once per node and cached.
"""

from __future__ import annotations

from collections.abc import Mapping

from reconciler.model.base import ScalarValue
from reconciler.model.kinds import Rule
from reconciler.model.values import INFINITY

NodeAttributes = Mapping[str, Mapping[str, ScalarValue]]
"""node name -> its attributes (declared, transient and the built-in `#uname`)."""


def as_text(value: ScalarValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_number(value: ScalarValue) -> float | None:
    """The numeric reading of a value, or None when it is not a number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(value.strip())
    except ValueError:
        return None


def compare(left: ScalarValue, right: ScalarValue) -> int:
    """-1, 0 or 1: numerically when both are numbers, else as strings."""
    a, b = as_number(left), as_number(right)
    if a is not None and b is not None:
        return (a > b) - (a < b)
    x, y = as_text(left), as_text(right)
    return (x > y) - (x < y)


def holds(rule: Rule, attributes: Mapping[str, ScalarValue]) -> bool:
    """Whether the rule's expression holds for a node with these attributes."""
    value = attributes.get(rule.attribute)
    if rule.op == "defined":
        return value is not None
    if rule.op == "not_defined":
        return value is None
    if value is None or rule.value is None:
        return rule.op == "ne"
    result = compare(value, rule.value)
    return {
        "lt": result < 0,
        "lte": result <= 0,
        "gt": result > 0,
        "gte": result >= 0,
        "eq": result == 0,
        "ne": result != 0,
    }[rule.op]


class RuleEvaluator:
    """Which nodes each rule expression holds on, computed once per distinct expression."""

    def __init__(self, attributes: NodeAttributes, node_order: tuple[str, ...]) -> None:
        self._attributes = attributes
        self._nodes = node_order
        self._cache: dict[tuple[str, str, str], tuple[str, ...]] = {}

    def matching_nodes(self, rule: Rule) -> tuple[str, ...]:
        key = (rule.attribute, rule.op, "" if rule.value is None else repr(rule.value))
        nodes = self._cache.get(key)
        if nodes is None:
            nodes = tuple(n for n in self._nodes if holds(rule, self._attributes[n]))
            self._cache[key] = nodes
        return nodes

    def attribute_score(self, node: str, attribute: str) -> int | None:
        """A node attribute read as a score (for scoreAttribute), None if not a number."""
        value = self._attributes[node].get(attribute)
        if value is None:
            return None
        number = as_number(value)
        if number is None:
            return None
        return max(-INFINITY, min(INFINITY, int(number)))
