"""A resource's own score terms: locations, stickiness, failure bans, promotion scores.

These are the terms that do not depend on where anything else goes, so they are
computed once, before placement; colocation terms are added during placement
(colocation.py). Node availability (standby, offline, …) is not a term here: it is the
same for every resource and is checked separately.
"""

from __future__ import annotations

from collections.abc import Iterable

from reconciler.model.kinds import Location
from reconciler.scheduler.failures import Failures
from reconciler.scheduler.fencing import Observed, Status
from reconciler.scheduler.inputs import Inputs
from reconciler.scheduler.rules import RuleEvaluator
from reconciler.scheduler.terms import Term, score_text

MANAGED_STATES = ("healthy", "failed")


class BaseScores:
    """Own terms per primitive, group and clone (placement), and per clone (promotion)."""

    def __init__(self, inputs: Inputs, *, failures: Failures, status: Status) -> None:
        self._inputs = inputs
        self._failures = failures
        self._status = status
        self._rules = RuleEvaluator(inputs.attributes, inputs.node_names)
        self._placement: dict[str, tuple[Term, ...]] = {}
        self._managed: dict[str, list[str]] = {}

    def placement_terms(self, name: str) -> tuple[Term, ...]:
        """Terms of a primitive, clone or group (a group: only those naming the group)."""
        found = self._placement.get(name)
        if found is None:
            terms = self._location_terms(self._inputs.locations.get(name, ()), promoted=False)
            if name in self._inputs.resources:
                terms.extend(self._failures.ban_terms(name))
                terms.extend(self._stickiness_terms(name))
            found = self._placement[name] = tuple(terms)
        return found

    def promotion_terms(self, name: str) -> list[Term]:
        """Terms deciding where a promotable clone is promoted."""
        terms = self._location_terms(self._inputs.locations.get(name, ()), promoted=True)
        reported = self._inputs.snapshot.promotion_scores.get(name, {})
        for node in self._inputs.node_names:
            if node in reported and reported[node] != 0:
                terms.append(Term(reported[node], (node,), "promotion score reported by the agent"))
        meta = self._inputs.meta[name]
        promoted = tuple(
            sorted(
                {
                    o.node
                    for o in self._status.instances.get(name, ())
                    if o.role == "Promoted" and o.state in MANAGED_STATES
                }
            )
        )
        if promoted and meta.stickiness:
            terms.append(
                Term(
                    meta.stickiness, promoted, "stickiness (promoted here)", meta.stickiness_source
                )
            )
        return terms

    def managed_nodes(self, name: str) -> list[str]:
        """Nodes where the resource runs and is managed (healthy or failed), sorted."""
        found = self._managed.get(name)
        if found is None:
            found = self._managed[name] = sorted(
                {o.node for o in self._status.instances.get(name, ()) if o.state in MANAGED_STATES}
            )
        return found

    def instances(self, name: str) -> list[Observed]:
        return self._status.instances.get(name, [])

    def _stickiness_terms(self, name: str) -> list[Term]:
        meta = self._inputs.meta[name]
        nodes = tuple(self.managed_nodes(name))
        if not nodes or meta.stickiness == 0:
            return []
        return [Term(meta.stickiness, nodes, "stickiness (running here)", meta.stickiness_source)]

    def _location_terms(self, locations: Iterable[Location], *, promoted: bool) -> list[Term]:
        terms: list[Term] = []
        for location in locations:
            spec = location.spec
            if (spec.role == "Promoted") != promoted:
                continue
            ref = ("Location", location.metadata.name)
            if spec.node is not None and spec.score is not None:
                if spec.node in self._inputs.nodes:
                    terms.append(Term(int(spec.score), (spec.node,), f"location {spec.node}", ref))
                continue
            for rule in spec.rules or ():
                nodes = self._rules.matching_nodes(rule)
                expression = f"{rule.attribute} {rule.op}" + (
                    "" if rule.value is None else f" {rule.value}"
                )
                if rule.score is not None:
                    if nodes:
                        terms.append(Term(int(rule.score), nodes, f"rule {expression}", ref))
                    continue
                attribute = rule.score_attribute or ""
                for node in nodes:
                    value = self._rules.attribute_score(node, attribute)
                    if value:
                        terms.append(
                            Term(
                                value,
                                (node,),
                                f"rule {expression}: {attribute}={score_text(value)}",
                                ref,
                            )
                        )
        return terms
