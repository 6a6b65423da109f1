"""What resource intents mean to the scheduler: constraints it already understands.

`move` and `ban` become Location constraints (INFINITY on the target node, -INFINITY
on the banned node — Pacemaker's `cli-prefer`/`cli-ban`), named `intent-…` and with a
source that says which intent, by whom, until when, so that `hactl explain` shows
them like any other term. `restart` holds the resource at targetRole Stopped until
every instance has stopped (the leader then removes the intent and it starts again).

They are added to the snapshot's declared state only, never to a generation, and
only through ordinary constraints: the scheduler's rules and the store's claims apply
to them exactly as to manifests, so an intent can make a resource run in fewer places
or elsewhere, never in two. Pure.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from reconciler.intents import Intent, active, iso
from reconciler.model.base import is_valid_name
from reconciler.model.declared import DeclaredState, Source
from reconciler.model.kinds import Document, Group, Location, Resource


def location_name(intent: Intent, taken: set[str]) -> str:
    """`intent-move-web`, `intent-ban-web-n2`; a digest when that is too long or taken."""
    parts = [p for p in (intent.kind, intent.resource, intent.node) if p]
    if intent.kind == "move":
        parts = [intent.kind, intent.resource or ""]
    name = "intent-" + "-".join(parts)
    if not is_valid_name(name) or name in taken:
        digest = hashlib.sha256(intent.name.encode()).hexdigest()[:12]
        name = f"intent-{intent.kind}-{digest}"
    return name


def intent_source(intent: Intent) -> Source:
    until = f", until {iso(intent.until)}" if intent.until is not None else ""
    return Source(f"intent {intent.describe()} (by {intent.by}, at {iso(intent.at)}{until})", 0)


def _location(intent: Intent, name: str) -> Location | None:
    if intent.resource is None or intent.node is None:
        return None
    score = "INFINITY" if intent.kind == "move" else "-INFINITY"
    return Location.model_validate(
        {
            "metadata": {"name": name},
            "spec": {"resource": intent.resource, "node": intent.node, "score": score},
        }
    )


def _stopped(document: Resource | Group) -> Document:
    meta = document.spec.meta.model_copy(update={"target_role": "Stopped"})
    spec = document.spec.model_copy(update={"meta": meta})
    return document.model_copy(update={"spec": spec})


def with_intents(declared: DeclaredState, intents: Iterable[Intent], now: float) -> DeclaredState:
    """The declared state the scheduler sees: manifests plus resource intents in force.

    Intents naming a resource, group or node that is not declared (any more) are left
    out: a stale intent must never make a configuration the scheduler cannot read."""
    in_force = [i for i in active(intents, now) if i.kind in ("move", "ban", "restart")]
    if not in_force:
        return declared
    documents = {key: doc for key, doc in declared.items()}
    sources = dict(declared.sources)
    taken = set(declared.locations)
    for intent in in_force:
        target = intent.resource or ""
        known = target in declared.resources or target in declared.groups
        if not known or (intent.node is not None and intent.node not in declared.nodes):
            continue
        if intent.kind == "restart":
            kind = "Resource" if target in declared.resources else "Group"
            current = documents[(kind, target)]
            assert isinstance(current, Resource | Group)
            documents[(kind, target)] = _stopped(current)
            continue
        name = location_name(intent, taken)
        location = _location(intent, name)
        if location is None:
            continue
        taken.add(name)
        documents[("Location", name)] = location
        sources[("Location", name)] = intent_source(intent)
    return DeclaredState.of(documents.values(), sources)


def restart_pending(declared: DeclaredState, intent: Intent) -> tuple[str, ...]:
    """The primitives a restart intent must see stopped before it is done."""
    target = intent.resource or ""
    if target in declared.groups:
        return tuple(declared.groups[target].spec.resources)
    return (target,) if target in declared.resources else ()
