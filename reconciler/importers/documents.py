"""Manifest documents as an importer builds them: plain dicts that remember their line.

An importer produces documents in the manifest language (camelCase keys, durations
and scores as strings), validates each against the model before anything is printed,
and renders them as one YAML stream whose comments say where each part came from.
A document that does not validate is reported at the input line it came from.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from reconciler.importers.source import Diagnostic, Origin, fail
from reconciler.model.base import API_VERSION
from reconciler.model.kinds import KINDS

Document = dict[str, Any]

_FLOW_MAX_ITEMS = 4
_FLOW_MAX_CHARS = 60
_FLOW_SAFE = re.compile(r"[A-Za-z0-9_./+ -]*")


@dataclass(frozen=True)
class Draft:
    """One output document, the input line it came from, and an optional comment
    printed above it."""

    document: Document
    origin: Origin
    comment: str | None = None


@dataclass(frozen=True)
class ImportResult:
    """What an import produced: documents in output order, and warnings."""

    drafts: tuple[Draft, ...]
    warnings: tuple[Diagnostic, ...] = ()
    header: tuple[str, ...] = ()

    @property
    def documents(self) -> list[Document]:
        return [draft.document for draft in self.drafts]


def make(
    kind: str, name: str, spec: Mapping[str, Any], *, annotations: Mapping[str, str] | None = None
) -> Document:
    """A manifest document of `kind` (`apiVersion`, `kind`, `metadata`, `spec`)."""
    metadata: dict[str, Any] = {"name": name}
    if annotations:
        metadata["annotations"] = dict(annotations)
    return {"apiVersion": API_VERSION, "kind": kind, "metadata": metadata, "spec": dict(spec)}


def validate(drafts: Iterable[Draft]) -> None:
    """Check every document against its kind's model; the first that fails stops the
    import at the line it came from."""
    for draft in drafts:
        kind, name = draft.document["kind"], draft.document["metadata"]["name"]
        try:
            KINDS[kind].model_validate(draft.document)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error["loc"])
            fail(draft.origin, f"{kind}/{name}: {where}: {error['msg']}")


def render_yaml(result: ImportResult) -> str:
    """The documents as one YAML stream, the header as its leading comment."""
    yaml = YAML()
    yaml.width = 100
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.explicit_start = True
    out = io.StringIO()
    out.write("".join(f"# {_printable(line)}".rstrip() + "\n" for line in result.header))
    for draft in result.drafts:
        node = _to_yaml(draft.document)
        if draft.comment:
            node.yaml_set_start_comment(_printable(draft.comment))
        yaml.dump(node, out)
    return out.getvalue()


def _printable(text: str) -> str:
    """Comment text with control and line-breaking characters shown as `?`, so a
    hostile file name or token cannot end the comment and start YAML."""
    return "".join(char if char.isprintable() else "?" for char in text)


def _to_yaml(value: Any) -> Any:
    """Dicts and lists as ruamel nodes; small all-scalar ones in flow style."""
    if isinstance(value, Mapping):
        node = CommentedMap((key, _to_yaml(item)) for key, item in value.items())
        if _is_small(value.values()):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list | tuple):
        seq = CommentedSeq(_to_yaml(item) for item in value)
        if _is_small(value):
            seq.fa.set_flow_style()
        return seq
    return value


def _is_small(values: Iterable[Any]) -> bool:
    """Few, short, plain scalars: strings with YAML indicators (`lsb:x`, `a, b`) stay in
    block style, where every YAML parser reads them back the same."""
    items: Sequence[Any] = list(values)
    plain = all(
        _FLOW_SAFE.fullmatch(item)
        if isinstance(item, str)
        else not isinstance(item, Mapping | list | tuple)
        for item in items
    )
    return plain and len(items) <= _FLOW_MAX_ITEMS and len(repr(items)) <= _FLOW_MAX_CHARS
