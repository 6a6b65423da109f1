"""What an apply would change: a pure comparison of declared states, and its rendering.

Used by `apply` (what to write), `apply --dry-run` and `diff` (what to show), and
`rollback`. Objects are compared in their canonical manifest form, so only real
changes count. Secrets are compared for real but never rendered.
"""

from __future__ import annotations

import difflib
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ruamel.yaml import YAML

from reconciler.loader.lints import is_secret_param
from reconciler.model.declared import DeclaredState, ObjectKey, to_manifest

REDACTED = "<redacted>"


@dataclass(frozen=True)
class ChangeSet:
    created: list[ObjectKey] = field(default_factory=list)
    updated: list[ObjectKey] = field(default_factory=list)
    deleted: list[ObjectKey] = field(default_factory=list)
    unchanged: list[ObjectKey] = field(default_factory=list)
    untouched: list[ObjectKey] = field(default_factory=list)
    """In the store but not in the files, kept because prune was not asked for."""

    @property
    def empty(self) -> bool:
        return not (self.created or self.updated or self.deleted)

    def as_dict(self) -> dict[str, list[str]]:
        def names(keys: Iterable[ObjectKey]) -> list[str]:
            return [f"{kind}/{name}" for kind, name in keys]

        return {
            "created": names(self.created),
            "updated": names(self.updated),
            "deleted": names(self.deleted),
            "unchanged": names(self.unchanged),
        }


def compare(current: DeclaredState, desired: DeclaredState, *, prune: bool) -> ChangeSet:
    """The changes that make `current` into `desired` (deleting extras only with prune)."""
    changes = ChangeSet()
    current_docs = {key: to_manifest(doc) for key, doc in current.items()}
    desired_keys = set(desired.object_keys())
    for key, doc in desired.items():
        if key not in current_docs:
            changes.created.append(key)
        elif current_docs[key] != to_manifest(doc):
            changes.updated.append(key)
        else:
            changes.unchanged.append(key)
    for key in current.object_keys():
        if key not in desired_keys:
            (changes.deleted if prune else changes.untouched).append(key)
    return changes


def merged(current: DeclaredState, desired: DeclaredState, *, prune: bool) -> DeclaredState:
    """The declared state after applying `desired` onto `current`."""
    if prune:
        return desired
    keys = set(desired.object_keys())
    kept = [doc for key, doc in current.items() if key not in keys]
    sources = {k: v for k, v in current.sources.items() if k not in keys}
    sources.update(desired.sources)
    return DeclaredState.of([*kept, *desired], sources)


def redact(manifest: dict[str, Any], *, against: dict[str, Any] | None = None) -> dict[str, Any]:
    """A copy with secret parameters hidden; marked changed when they differ from `against`."""
    spec = manifest.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("params"), dict):
        return manifest
    other_params = ((against or {}).get("spec") or {}).get("params") or {}
    params = {}
    for name, value in spec["params"].items():
        if is_secret_param(name):
            changed = against is not None and other_params.get(name) != value
            value = f"{REDACTED} (changed)" if changed else REDACTED
        params[name] = value
    return {**manifest, "spec": {**spec, "params": params}}


def to_yaml(documents: Iterable[dict[str, Any]]) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    out = io.StringIO()
    yaml.dump_all(list(documents), out)
    return out.getvalue()


def unified_diff(current: DeclaredState, desired: DeclaredState, *, prune: bool) -> str:
    """A unified diff per changed object, store side first (kubectl diff's convention)."""
    changes = compare(current, desired, prune=prune)
    chunks: list[str] = []
    for key in sorted([*changes.created, *changes.updated, *changes.deleted]):
        kind, name = key
        old = current.get(kind, name)
        new = desired.get(kind, name)
        old_manifest = to_manifest(old) if old is not None else None
        new_manifest = to_manifest(new) if new is not None else None
        old_text = to_yaml([redact(old_manifest)]) if old_manifest else ""
        new_text = to_yaml([redact(new_manifest, against=old_manifest)]) if new_manifest else ""
        chunks.extend(
            difflib.unified_diff(
                old_text.splitlines(keepends=True),
                new_text.splitlines(keepends=True),
                fromfile=f"store/{kind}/{name}",
                tofile=f"files/{kind}/{name}",
            )
        )
    return "".join(chunks)
