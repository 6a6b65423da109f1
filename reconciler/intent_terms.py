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
from datetime import datetime
from urllib.parse import parse_qsl, urlencode

from reconciler.intents import INTENT_KINDS, NODE_KINDS, Intent, active, iso
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


INTENT_SOURCE = "intent:"
"""How a source that is an intent, not a file, begins (its line is 0)."""
INTENT_KEY = "Intent"
"""The kind in `DeclaredState.sources` under which intents that make no object of their
own are recorded by name (restart, node standby/maintenance, cluster maintenance)."""


def intent_source(intent: Intent) -> Source:
    """Where an intent's constraint comes from: the intent itself, not a file.

    A Source is a (file, line) pair, and saved scheduler inputs keep it as such, so
    the intent goes into `file` URL-encoded (`intent:move?resource=web&node=n2&by=…`)
    and line 0 says it is no file: `intent_of` reads it back, also from a replay."""
    fields = {"resource": intent.resource, "node": intent.node, "by": intent.by}
    fields["at"] = iso(intent.at)
    if not intent.value:
        fields["value"] = "false"
    if intent.until is not None:
        fields["until"] = iso(intent.until)
    query = urlencode({k: v for k, v in fields.items() if v is not None})
    return Source(f"{INTENT_SOURCE}{intent.kind}?{query}", 0)


def intent_of(source: Source) -> Intent | None:
    """The intent an `intent_source` names (times to the second); None for a file."""
    if source.line != 0 or not source.file.startswith(INTENT_SOURCE):
        return None
    name, _, query = source.file.removeprefix(INTENT_SOURCE).partition("?")
    fields = dict(parse_qsl(query, keep_blank_values=True))
    kind = next((k for k in INTENT_KINDS if k == name), None)
    if kind is None or "by" not in fields or "at" not in fields:
        return None
    try:
        at = datetime.fromisoformat(fields["at"]).timestamp()
        until = fields.get("until")
        return Intent(
            kind=kind,
            by=fields["by"],
            at=at,
            node=fields.get("node"),
            resource=fields.get("resource"),
            value=fields.get("value") != "false",
            until=None if until is None else datetime.fromisoformat(until).timestamp(),
        )
    except ValueError:
        return None


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
    out: a stale intent must never make a configuration the scheduler cannot read. Every
    intent in force is also recorded in `sources` (see intent_source), so explain —
    and the replay of a saved input — names the intents behind a placement."""
    in_force = active(intents, now)
    if not in_force:
        return declared
    documents = {key: doc for key, doc in declared.items()}
    sources = dict(declared.sources)
    taken = set(declared.locations)
    for intent in in_force:
        if intent.kind in NODE_KINDS or intent.kind == "cluster-maintenance":
            # Applied to the nodes' state by the snapshot builder; recorded here so
            # that explain names the intent, not the manifest, behind a standby.
            sources[(INTENT_KEY, intent.name)] = intent_source(intent)
            continue
        if intent.kind == "cleanup":
            continue
        target = intent.resource or ""
        known = target in declared.resources or target in declared.groups
        if not known or (intent.node is not None and intent.node not in declared.nodes):
            continue
        if intent.kind == "restart":
            kind = "Resource" if target in declared.resources else "Group"
            current = documents[(kind, target)]
            assert isinstance(current, Resource | Group)
            documents[(kind, target)] = _stopped(current)
            # No constraint names it, so its source is kept under a key of its own:
            # explain shows why a declared-to-run resource is held stopped.
            sources[(INTENT_KEY, intent.name)] = intent_source(intent)
            continue
        name = location_name(intent, taken)
        location = _location(intent, name)
        if location is None:
            continue
        taken.add(name)
        documents[("Location", name)] = location
        sources[("Location", name)] = intent_source(intent)
    return DeclaredState.of(documents.values(), sources)


def intents_applied(declared: DeclaredState, names: Iterable[str]) -> list[Intent]:
    """The resource intents in `declared`'s sources that name one of `names` (a resource,
    its group): their constraints and restarts, as the snapshot builder applied them."""
    wanted = set(names)
    found = (intent_of(source) for source in declared.sources.values())
    return sorted(
        (i for i in found if i is not None and i.resource in wanted), key=lambda i: i.name
    )


def restart_pending(declared: DeclaredState, intent: Intent) -> tuple[str, ...]:
    """The primitives a restart intent must see stopped before it is done."""
    target = intent.resource or ""
    if target in declared.groups:
        return tuple(declared.groups[target].spec.resources)
    return (target,) if target in declared.resources else ()
