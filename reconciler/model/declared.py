"""DeclaredState: one validated set of manifest documents, indexed by kind and name.

This is what the operator wants, as the scheduler, the CLI and the store see it;
it holds no observed state. Built by the loader (from files) or read back from
the store; `sources` remembers where each object was declared, when known.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from reconciler.model.base import Metadata
from reconciler.model.kinds import (
    KINDS,
    Cluster,
    Colocation,
    Document,
    FenceDevice,
    Group,
    Location,
    Node,
    Order,
    Resource,
)

ObjectKey = tuple[str, str]
"""(kind, name): the identity of a declared object."""

D = TypeVar("D", bound=Document)


@dataclass(frozen=True, slots=True)
class Source:
    """Where an object was declared: a file and the 1-based line of its document."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class DeclaredState:
    documents: tuple[Document, ...]
    sources: Mapping[ObjectKey, Source] = field(default_factory=dict)

    @classmethod
    def of(
        cls, documents: Iterable[Document], sources: Mapping[ObjectKey, Source] | None = None
    ) -> DeclaredState:
        """Documents in a stable order: by kind (as in KINDS), then by name."""
        order = {kind: i for i, kind in enumerate(KINDS)}
        docs = sorted(documents, key=lambda d: (order[d.kind], d.metadata.name))
        return cls(tuple(docs), dict(sources or {}))

    def __iter__(self) -> Iterator[Document]:
        return iter(self.documents)

    def __len__(self) -> int:
        return len(self.documents)

    def object_keys(self) -> list[ObjectKey]:
        return [(d.kind, d.metadata.name) for d in self.documents]

    def items(self) -> list[tuple[ObjectKey, Document]]:
        return [((d.kind, d.metadata.name), d) for d in self.documents]

    @cached_property
    def _index(self) -> dict[ObjectKey, Document]:
        return {(d.kind, d.metadata.name): d for d in self.documents}

    def get(self, kind: str, name: str) -> Document | None:
        return self._index.get((kind, name))

    def _by_name(self, model: type[D]) -> dict[str, D]:
        return {d.metadata.name: d for d in self.documents if isinstance(d, model)}

    @cached_property
    def cluster(self) -> Cluster:
        """The Cluster object, or one with every default when none is declared."""
        clusters = self._by_name(Cluster)
        if clusters:
            return next(iter(clusters.values()))
        return Cluster(metadata=Metadata(name="default"))

    @cached_property
    def nodes(self) -> dict[str, Node]:
        return self._by_name(Node)

    @cached_property
    def resources(self) -> dict[str, Resource]:
        return self._by_name(Resource)

    @cached_property
    def groups(self) -> dict[str, Group]:
        return self._by_name(Group)

    @cached_property
    def locations(self) -> dict[str, Location]:
        return self._by_name(Location)

    @cached_property
    def colocations(self) -> dict[str, Colocation]:
        return self._by_name(Colocation)

    @cached_property
    def orders(self) -> dict[str, Order]:
        return self._by_name(Order)

    @cached_property
    def fence_devices(self) -> dict[str, FenceDevice]:
        return self._by_name(FenceDevice)

    @cached_property
    def _group_of_member(self) -> dict[str, Group]:
        return {m: g for g in self.groups.values() for m in g.spec.resources}

    def group_of(self, resource: str) -> Group | None:
        """The group a resource belongs to, if any (a resource is in at most one)."""
        return self._group_of_member.get(resource)

    def source_of(self, kind: str, name: str) -> Source | None:
        return self.sources.get((kind, name))


_FREE_FORM_MAPPINGS = (
    ("metadata", "labels"),
    ("metadata", "annotations"),
    ("spec", "params"),
    ("spec", "attributes"),
)
"""Mappings whose keys the operator chooses: sorted, so their order is not a change."""


def to_manifest(doc: Document) -> dict[str, Any]:
    """The canonical manifest form of a document: defaults left out, keys as written.

    Two documents that mean the same thing have the same canonical form, so the
    store, `diff` and `get` never show a change that is only a spelled-out default."""
    body = doc.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    body.pop("apiVersion", None)
    body.pop("kind", None)
    for section, mapping in _FREE_FORM_MAPPINGS:
        part = body.get(section)
        if isinstance(part, dict) and isinstance(part.get(mapping), dict):
            part[mapping] = dict(sorted(part[mapping].items()))
    return {"apiVersion": doc.api_version, "kind": doc.kind, **body}


def from_manifest(data: dict[str, Any]) -> Document:
    """A document from its canonical form (as read back from the store)."""
    kind = data.get("kind")
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}")
    return KINDS[kind].model_validate(data)
