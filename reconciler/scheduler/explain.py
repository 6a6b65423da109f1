"""`hactl explain`: why a resource runs where it runs, from the transition's reasons.

For every node: the total score and each term behind it, with the manifest object it
came from (and file:line when the loader recorded it, or the operator intent it stands
for: who, when, until); then, for each node where the
resource does not run, the reason in one sentence — unavailable, forbidden, outscored,
or lost a tie — so the operator does not have to do the arithmetic.
"""

from __future__ import annotations

from typing import Any

from reconciler.intent_terms import INTENT_KEY, intent_of, intents_applied
from reconciler.intents import provenance
from reconciler.model.declared import DeclaredState, Source
from reconciler.scheduler.terms import Term, score_text
from reconciler.scheduler.transition import Explanation, Transition


def explain_data(name: str, transition: Transition, *, declared: DeclaredState) -> dict[str, Any]:
    """The explanation of one resource, group or clone as plain data (JSON-ready)."""
    explanation = transition.explanations[name]
    nodes = sorted(declared.nodes)
    data: dict[str, Any] = {
        "resource": name,
        "kind": explanation.kind,
        "nodes": list(explanation.nodes),
        "decision": explanation.decision,
        "scores": {
            node: {
                "total": score_text(explanation.score_on(node, transition.node_terms)),
                "terms": [
                    _term(t, declared)
                    for t in _node_terms(explanation, node, transition=transition)
                ],
            }
            for node in nodes
        },
        "notRunningOn": {
            node: why
            for node in nodes
            if (why := _why_not(explanation, node, transition=transition))
        },
        "notes": list(explanation.notes),
        "intents": [
            i.as_dict() for i in intents_applied(declared, [name, explanation.group or name])
        ],
    }
    if explanation.group is not None:
        data["group"] = explanation.group
        data["groupDecision"] = transition.explanations[explanation.group].decision
    if explanation.promotion_terms:
        data["promotion"] = {
            node: {
                "total": score_text(explanation.promotion_score_on(node)),
                "terms": [
                    _term(t, declared) for t in explanation.promotion_terms if t.applies_to(node)
                ],
            }
            for node in sorted(set(explanation.nodes))
        }
    return data


def explain_lines(name: str, transition: Transition, *, declared: DeclaredState) -> list[str]:
    """The same explanation for people."""
    data = explain_data(name, transition, declared=declared)
    lines = [f"{name}: {data['decision']}"]
    if "group" in data:
        lines.append(f"group {data['group']}: {data['groupDecision']}")
    lines += ["", "Scores per node:"]
    for node, score in data["scores"].items():
        marker = "*" if node in data["nodes"] else " "
        lines.append(f" {marker} {node}: {score['total']}")
        for term in score["terms"]:
            lines.append(f"      {term['score']:>10}  {term['text']}{_source_text(term)}")
    if "promotion" in data:
        lines += ["", "Promotion scores:"]
        for node, score in data["promotion"].items():
            lines.append(f"   {node}: {score['total']}")
            for term in score["terms"]:
                lines.append(f"      {term['score']:>10}  {term['text']}{_source_text(term)}")
    if data["notRunningOn"]:
        lines += ["", "Not running on:"]
        lines += [f"   {node}: {why}" for node, why in data["notRunningOn"].items()]
    if data["intents"]:
        lines += ["", "Operator intents (hactl resource clear NAME removes them):"]
        lines += [f"   {i['what']} ({provenance(i)})" for i in data["intents"]]
    if data["notes"]:
        lines += ["", "Notes:"] + [f"   {note}" for note in data["notes"]]
    return lines


def _node_terms(explanation: Explanation, node: str, *, transition: Transition) -> list[Term]:
    terms = explanation.terms_on(node)
    if node in transition.node_terms:
        terms.insert(0, transition.node_terms[node])
    return terms


NODE_INTENTS = {
    "in standby": ("standby/{node}",),
    "in maintenance": ("maintenance/{node}", "cluster-maintenance/cluster"),
}
"""A node term's words → the intents that may have set it rather than the manifest."""


def _node_intent(declared: DeclaredState, node: str, text: str) -> Source | None:
    for words, names in NODE_INTENTS.items():
        if text.endswith(words):
            for name in names:
                where = declared.source_of(INTENT_KEY, name.format(node=node))
                intent = intent_of(where) if where is not None else None
                if intent is not None and intent.value:
                    return where
    return None


def _term(term: Term, declared: DeclaredState) -> dict[str, Any]:
    data: dict[str, Any] = {"score": score_text(term.score), "text": term.text}
    if term.source is not None:
        kind, obj = term.source
        data["source"] = {"kind": kind, "name": obj}
        where = declared.source_of(kind, obj)
        if kind == "Node":
            where = _node_intent(declared, obj, term.text) or where
        intent = intent_of(where) if where is not None else None
        if intent is not None:
            data["source"]["intent"] = intent.as_dict()
        elif where is not None:
            data["source"]["file"] = where.file
            if where.line:
                data["source"]["line"] = where.line
    return data


def _source_text(term: dict[str, Any]) -> str:
    """`[Location/web-prefers-n1 at web.yaml:12]`; for an operator intent, the intent
    with who, when and until — what `hactl resource clear` would remove."""
    source = term.get("source")
    if source is None:
        return ""
    if "intent" in source:
        intent = source["intent"]
        return f"  [intent {intent['what']} ({provenance(intent)})]"
    line = f":{source['line']}" if "line" in source else ""
    where = f" at {source['file']}{line}" if "file" in source else ""
    return f"  [{source['kind']}/{source['name']}{where}]"


def _why_not(explanation: Explanation, node: str, *, transition: Transition) -> str | None:
    """Why the resource does not run on `node`, or None where it does."""
    if node in explanation.nodes:
        return None
    if node in transition.node_terms:
        return transition.node_terms[node].text
    score = explanation.score_on(node, transition.node_terms)
    if score < 0:
        negative = [t.text for t in explanation.terms_on(node) if t.score < 0]
        return f"score {score_text(score)}: " + "; ".join(negative)
    if not explanation.nodes:
        return explanation.decision.removeprefix("cannot run: ")
    best = max(explanation.score_on(n, transition.node_terms) for n in explanation.nodes)
    if score < best:
        return f"score {score_text(score)} is lower than {score_text(best)}"
    return f"same score {score_text(score)}: {explanation.decision}"
