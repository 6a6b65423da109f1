"""Turning plain YAML documents into validated manifest models, errors into Problems."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from reconciler.loader.problems import Problem
from reconciler.loader.yamlfile import FieldPath, RawDocument
from reconciler.model.base import (
    API_VERSION,
    ATTRIBUTE_NAME_PATTERN,
    LABEL_KEY_PATTERN,
    NAME_PATTERN,
    PARAM_NAME_PATTERN,
)
from reconciler.model.kinds import AGENT_PATTERN, KINDS, Document

Converter = Callable[[dict[str, Any]], dict[str, Any]]

CONVERTERS: dict[str, Converter] = {API_VERSION: lambda doc: doc}
"""apiVersion → a function that converts a document of that version to the current one.

A later `hactl/v1` adds its converter here; old documents keep loading."""

_PATTERN_HINTS = {
    NAME_PATTERN: "must be a DNS-1123 label: letters, digits and '-', at most 63, "
    "starting and ending with a letter or digit",
    PARAM_NAME_PATTERN: "must be a parameter name: letters, digits and '_', "
    "not starting with a digit",
    ATTRIBUTE_NAME_PATTERN: "must be an attribute name: letters, digits, '_', '-', '.', '#'",
    LABEL_KEY_PATTERN: "must be a label key: letters, digits, '-', '_', '.', '/'",
    AGENT_PATTERN: "must be ocf:PROVIDER:TYPE, lsb:NAME or hactl:TYPE",
}

_TYPE_WORDS = {
    "string_type": "must be a string",
    "int_type": "must be an integer",
    "bool_type": "must be true or false",
    "dict_type": "must be a mapping",
    "list_type": "must be a list",
    "float_type": "must be a number",
    "model_type": "must be a mapping",
    "model_attributes_type": "must be a mapping",
    "missing": "is required",
    "extra_forbidden": "is not a known field",
}


@dataclass(frozen=True)
class LoadedDocument:
    """A validated document and where it came from."""

    model: Document
    raw: RawDocument

    @property
    def key(self) -> tuple[str, str]:
        return (self.model.kind, self.model.metadata.name)

    def line_of(self, *path: str | int) -> int:
        return self.raw.line_of(path)


def field_name(loc: FieldPath) -> str:
    """`spec.ops[1].timeout` from ('spec', 'ops', 1, 'timeout')."""
    out = ""
    for part in loc:
        if part == "[key]":  # pydantic's marker for a mapping key that failed
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    if kind == "string_pattern_mismatch":
        pattern = str(error.get("ctx", {}).get("pattern", ""))
        hint = _PATTERN_HINTS.get(pattern, f"must match {pattern}")
        return f"{hint} (got {_short(error['input'])})"
    if kind == "literal_error":
        return f"must be {error.get('ctx', {}).get('expected', '')} (got {_short(error['input'])})"
    if kind in _TYPE_WORDS:
        return _TYPE_WORDS[kind]
    message = error["msg"]
    return message.removeprefix("Value error, ")


def _identity(data: Any) -> tuple[str | None, str | None]:
    kind = data.get("kind") if isinstance(data, dict) else None
    metadata = data.get("metadata") if isinstance(data, dict) else None
    name = metadata.get("name") if isinstance(metadata, dict) else None
    return (
        kind if isinstance(kind, str) and len(kind) <= 64 else None,
        name if isinstance(name, str) and len(name) <= 253 else None,
    )


def validate_document(raw: RawDocument) -> tuple[LoadedDocument | None, list[Problem]]:
    """Validate one document against its kind's model."""
    kind, name = _identity(raw.data)

    def problem(message: str, path: FieldPath = (), *, field: str | None = None) -> Problem:
        return Problem(
            message,
            file=raw.file,
            line=raw.line_of(path),
            kind=kind,
            name=name,
            field=field if field is not None else field_name(path),
        )

    if not isinstance(raw.data, dict):
        return None, [problem("a manifest document must be a mapping")]
    api_version = raw.data.get("apiVersion")
    if api_version is None:
        return None, [problem("is required", ("apiVersion",), field="apiVersion")]
    if not isinstance(api_version, str) or api_version not in CONVERTERS:
        known = ", ".join(CONVERTERS)
        return None, [
            problem(f"unknown apiVersion {_short(api_version)} (known: {known})", ("apiVersion",))
        ]
    if kind is None or kind not in KINDS:
        known = ", ".join(KINDS)
        got = _short(raw.data.get("kind"))
        return None, [problem(f"unknown kind {got} (known: {known})", ("kind",), field="kind")]
    data = CONVERTERS[api_version](raw.data)
    try:
        model = KINDS[kind].model_validate(data)
    except ValidationError as exc:
        return None, [problem(_message(e), tuple(e["loc"])) for e in exc.errors()]
    return LoadedDocument(model, raw), []
