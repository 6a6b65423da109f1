"""Checks across documents: references, duplicates, clashes and cycles (errors)."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable

from reconciler.loader.documents import LoadedDocument, field_name
from reconciler.loader.problems import Problem
from reconciler.model.kinds import (
    Cluster,
    Colocation,
    Group,
    Location,
    Node,
    Order,
    Resource,
)

Check = Callable[[list[LoadedDocument], set[str]], Iterable[Problem]]
"""A check gets the valid documents and the names of documents that failed validation
(so that a broken Resource is not reported again as missing wherever it is named)."""


def _problem(doc: LoadedDocument, message: str, *path: str | int) -> Problem:
    field = field_name(path) if path else None
    return Problem(
        message,
        file=doc.raw.file,
        line=doc.line_of(*path),
        kind=doc.model.kind,
        name=doc.model.metadata.name,
        field=field,
    )


def _where(doc: LoadedDocument) -> str:
    return f"{doc.raw.file}:{doc.raw.line}"


def duplicates(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    seen: dict[tuple[str, str], LoadedDocument] = {}
    for doc in docs:
        if doc.key in seen:
            yield _problem(doc, f"declared twice (also at {_where(seen[doc.key])})")
        else:
            seen[doc.key] = doc


def single_cluster(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    clusters = [d for d in docs if isinstance(d.model, Cluster)]
    names = {d.model.metadata.name for d in clusters}
    if len(names) > 1:
        for doc in clusters[1:]:
            yield _problem(doc, f"more than one Cluster (first at {_where(clusters[0])})")


def _case_clashes(docs: list[LoadedDocument], what: str) -> Iterable[Problem]:
    by_folded: dict[str, LoadedDocument] = {}
    for doc in docs:
        name = doc.model.metadata.name
        other = by_folded.setdefault(name.lower(), doc)
        if other is not doc and other.model.metadata.name != name:
            yield _problem(
                doc,
                f"{what} name differs from {other.model.metadata.name!r} only by case "
                f"({_where(other)}); names are case-sensitive, so this is refused",
            )


def name_clashes(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    """Nodes differ by more than case; resources and groups share one namespace."""
    yield from _case_clashes([d for d in docs if isinstance(d.model, Node)], "node")
    placeable = [d for d in docs if isinstance(d.model, Resource | Group)]
    resources = {d.model.metadata.name: d for d in placeable if isinstance(d.model, Resource)}
    for doc in placeable:
        if isinstance(doc.model, Group) and doc.model.metadata.name in resources:
            other = resources[doc.model.metadata.name]
            yield _problem(doc, f"a Resource has the same name ({_where(other)})")
    yield from _case_clashes(placeable, "resource/group")


def group_members(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    resources = {d.model.metadata.name: d.model for d in docs if isinstance(d.model, Resource)}
    groups = {d.model.metadata.name for d in docs if isinstance(d.model, Group)}
    member_of: dict[str, LoadedDocument] = {}
    for doc in docs:
        if not isinstance(doc.model, Group):
            continue
        for i, member in enumerate(doc.model.spec.resources):
            path = ("spec", "resources", i)
            if member in groups:
                yield _problem(doc, f"groups cannot contain groups ({member!r})", *path)
            elif member in broken:
                continue
            elif member not in resources:
                yield _problem(doc, f"no Resource named {member!r}", *path)
            elif resources[member].spec.clone is not None:
                yield _problem(doc, f"{member!r} is a clone; a clone cannot be in a group", *path)
            elif member in member_of:
                other = member_of[member]
                yield _problem(
                    doc,
                    f"{member!r} is already in group {other.model.metadata.name!r} "
                    f"({_where(other)}); a resource is in at most one group",
                    *path,
                )
            else:
                member_of[member] = doc


def _promotable(docs: list[LoadedDocument]) -> set[str]:
    return {
        d.model.metadata.name
        for d in docs
        if isinstance(d.model, Resource) and d.model.spec.clone and d.model.spec.clone.promotable
    }


def constraint_targets(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    placeable = {d.model.metadata.name for d in docs if isinstance(d.model, Resource | Group)}
    promotable = _promotable(docs)
    for doc in docs:
        model = doc.model
        refs: list[tuple[str, str, str | None]] = []
        if isinstance(model, Location):
            refs = [("resource", model.spec.resource, model.spec.role)]
        elif isinstance(model, Colocation):
            refs = [
                ("resource", model.spec.resource, model.spec.role),
                ("with", model.spec.with_, model.spec.with_role),
            ]
        elif isinstance(model, Order):
            refs = [("first", model.spec.first, None), ("then", model.spec.then, None)]
            actions = (
                ("firstAction", model.spec.first, model.spec.first_action),
                ("thenAction", model.spec.then, model.spec.then_action),
            )
            for field, ref, action in actions:
                if action in ("promote", "demote") and ref not in promotable and ref in placeable:
                    yield _problem(
                        doc, f"{action} needs a promotable clone, {ref!r} is not", "spec", field
                    )
        for field, ref, role in refs:
            if ref in broken:
                continue
            if ref not in placeable:
                yield _problem(doc, f"no Resource or Group named {ref!r}", "spec", field)
            elif role in ("Promoted", "Unpromoted") and ref not in promotable:
                yield _problem(
                    doc, f"role {role} needs a promotable clone, {ref!r} is not", "spec", field
                )


def _cycle_problem(
    cycle: list[str], edges: dict[str, list[tuple[str, LoadedDocument | None]]]
) -> Problem:
    """Blame the first Order in the cycle (a cycle of group members alone has none)."""
    message = "Mandatory order cycle: " + " -> ".join(cycle)
    for before, after in itertools.pairwise(cycle):
        for target, doc in edges[before]:
            if target == after and doc is not None:
                return _problem(doc, message)
    return Problem(message)


def order_cycles(docs: list[LoadedDocument], broken: set[str]) -> Iterable[Problem]:
    """Mandatory orders (and group member order) must not form a cycle."""
    edges: dict[str, list[tuple[str, LoadedDocument | None]]] = defaultdict(list)
    for doc in docs:
        model = doc.model
        if isinstance(model, Order) and model.spec.kind == "Mandatory":
            edges[model.spec.first].append((model.spec.then, doc))
        elif isinstance(model, Group):
            members = model.spec.resources
            for before, after in itertools.pairwise(members):
                edges[before].append((after, None))
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    reported: set[frozenset[str]] = set()

    def visit(start: str) -> Iterable[Problem]:
        stack: list[tuple[str, int]] = [(start, 0)]
        path: list[str] = [start]
        state[start] = 1
        while stack:
            node, index = stack[-1]
            targets = edges.get(node, [])
            if index == len(targets):
                stack.pop()
                path.pop()
                state[node] = 2
                continue
            stack[-1] = (node, index + 1)
            target, _ = targets[index]
            if state.get(target) == 1:
                cycle = [*path[path.index(target) :], target]
                if frozenset(cycle) not in reported:
                    reported.add(frozenset(cycle))
                    yield _cycle_problem(cycle, edges)
            elif target not in state:
                state[target] = 1
                stack.append((target, 0))
                path.append(target)

    for start in sorted(edges):
        if start not in state:
            yield from visit(start)


CHECKS: tuple[Check, ...] = (
    duplicates,
    single_cluster,
    name_clashes,
    group_members,
    constraint_targets,
    order_cycles,
)
