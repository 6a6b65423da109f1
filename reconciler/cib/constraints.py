"""Location, colocation and order constraints as Pacemaker's rsc_location/colocation/order.

A hactl rule is one Pacemaker rule holding one expression. hactl compares values as
numbers when both sides read as numbers and as strings otherwise; Pacemaker's
`type="number"` does exactly that (it falls back to a string comparison when a node's
value is not a number), so a rule whose value is a number gets `type="number"` and
any other rule `type="string"`.
"""

from __future__ import annotations

from xml.etree.ElementTree import Element, SubElement

from reconciler.cib.document import Export, score, text
from reconciler.model.kinds import Colocation, Location, Order, Rule
from reconciler.scheduler.rules import as_number


def constraints(export: Export, parent: Element) -> None:
    section = SubElement(parent, "constraints")
    declared = export.declared
    for location in declared.locations.values():
        _location(export, section, location)
    for colocation in declared.colocations.values():
        _colocation(export, section, colocation)
    for order in declared.orders.values():
        _order(export, section, order)


def _location(export: Export, parent: Element, location: Location) -> None:
    spec = location.spec
    cid = export.ids.new("location", location.metadata.name)
    element = SubElement(parent, "rsc_location", id=cid, rsc=export.ref(spec.resource))
    if spec.node is not None and spec.score is not None:
        element.set("node", spec.node)
        element.set("score", score(spec.score))
        if spec.role is not None:
            element.set("role", spec.role)
        return
    for index, rule in enumerate(spec.rules or ()):
        _rule(export, element, rule, rule_id=f"{cid}_rule{index}", role=spec.role)


def _rule(export: Export, parent: Element, rule: Rule, *, rule_id: str, role: str | None) -> None:
    element = SubElement(parent, "rule", id=export.ids.new(rule_id))
    if rule.score_attribute is not None:
        element.set("score-attribute", rule.score_attribute)
    elif rule.score is not None:
        element.set("score", score(rule.score))
    if role is not None:
        element.set("role", role)
    expression = SubElement(
        element,
        "expression",
        id=export.ids.new(rule_id, "expr"),
        attribute=rule.attribute,
        operation=rule.op,
    )
    if rule.value is not None:
        expression.set("value", text(rule.value))
        numeric = as_number(rule.value) is not None
        expression.set("type", "number" if numeric else "string")


def _colocation(export: Export, parent: Element, colocation: Colocation) -> None:
    spec = colocation.spec
    element = SubElement(
        parent,
        "rsc_colocation",
        id=export.ids.new("colocation", colocation.metadata.name),
        rsc=export.ref(spec.resource),
        score=score(spec.score),
    )
    element.set("with-rsc", export.ref(spec.with_))
    if spec.role is not None:
        element.set("rsc-role", spec.role)
    if spec.with_role is not None:
        element.set("with-rsc-role", spec.with_role)


def _order(export: Export, parent: Element, order: Order) -> None:
    spec = order.spec
    SubElement(
        parent,
        "rsc_order",
        {
            "id": export.ids.new("order", order.metadata.name),
            "first": export.ref(spec.first),
            "first-action": spec.first_action,
            "then": export.ref(spec.then),
            "then-action": spec.then_action,
            "kind": spec.kind,
            "symmetrical": "true" if spec.symmetrical else "false",
        },
    )
