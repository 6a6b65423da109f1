"""Reading manifest files safely: YAML in, plain data + line numbers out.

ruamel.yaml's round-trip loader keeps line numbers and constructs no Python
objects; on top of it this module refuses what a manifest never needs and an
attacker might send: explicit tags, dates, non-finite floats, alias bombs,
deep nesting and huge files. The result is plain dict/list/str/int/float/bool/None,
which the strict models validate without coercion.
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq, TaggedScalar
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from reconciler.loader.problems import Problem

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_NODES_PER_DOCUMENT = 200_000
MAX_DEPTH = 48
MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")

FieldPath = tuple[str | int, ...]
_STR_TAG = "tag:yaml.org,2002:str"


@dataclass(frozen=True)
class RawDocument:
    """One YAML document as plain data, with the line of every field in it."""

    file: str
    line: int
    data: Any
    lines: dict[FieldPath, int] = field(default_factory=dict)

    def line_of(self, path: FieldPath) -> int:
        """The line of the deepest part of `path` that exists in the document."""
        for end in range(len(path), 0, -1):
            found = self.lines.get(path[:end])
            if found is not None:
                return found
        return self.line


class _Invalid(Exception):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Converter:
    """Copies a ruamel tree into plain data, recording lines, within a node budget."""

    def __init__(self, first_line: int) -> None:
        self.lines: dict[FieldPath, int] = {}
        self.budget = MAX_NODES_PER_DOCUMENT
        self.first_line = first_line

    def convert(self, node: Any, path: FieldPath, line: int, depth: int = 0) -> Any:
        self.budget -= 1
        if self.budget < 0:
            raise _Invalid(
                f"document expands to more than {MAX_NODES_PER_DOCUMENT} values "
                "(an alias bomb, or far too large)",
                line,
            )
        if depth > MAX_DEPTH:
            raise _Invalid(f"document nested deeper than {MAX_DEPTH} levels", line)
        if path:
            self.lines[path] = line
        tag = getattr(node, "tag", None)
        tag_value = getattr(tag, "value", None)
        if isinstance(node, TaggedScalar):
            if tag_value != _STR_TAG:
                raise _Invalid(f"YAML tag {tag_value} is not allowed in manifests", line)
            return str(node.value)
        if tag_value is not None and isinstance(node, CommentedMap | CommentedSeq):
            raise _Invalid(f"YAML tag {tag_value} is not allowed in manifests", line)
        if isinstance(node, CommentedMap):
            return self._mapping(node, path, depth)
        if isinstance(node, CommentedSeq):
            return [
                self.convert(item, (*path, i), node.lc.item(i)[0] + 1, depth + 1)
                for i, item in enumerate(node)
            ]
        return self._scalar(node, line)

    def _mapping(self, node: CommentedMap, path: FieldPath, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in node:
            key_line = node.lc.key(key)[0] + 1
            if not isinstance(key, str):
                raise _Invalid(f"mapping key {key!r} must be a string", key_line)
            out[key] = self.convert(node[key], (*path, key), key_line, depth + 1)
        return out

    @staticmethod
    def _scalar(node: Any, line: int) -> Any:
        if node is None or isinstance(node, bool | str):
            return str(node) if isinstance(node, str) else node
        if isinstance(node, int):
            return int(node)
        if isinstance(node, float):
            if not math.isfinite(node):
                raise _Invalid("numbers must be finite", line)
            return float(node)
        raise _Invalid(
            f"a {type(node).__name__} value is not allowed here; quote it to make it a string",
            line,
        )


def _yaml() -> YAML:
    yaml = YAML(typ="rt")
    yaml.allow_duplicate_keys = False
    return yaml


def parse_text(text: str, file: str) -> tuple[list[RawDocument], list[Problem]]:
    """Every non-empty document of one file; problems instead of exceptions."""
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        return [], [Problem("file contains a NUL byte", file=file, line=line)]
    documents: list[RawDocument] = []
    try:
        for node in _yaml().load_all(io.StringIO(text)):
            if node is None:
                continue
            start = getattr(getattr(node, "lc", None), "line", None)
            first_line = start + 1 if isinstance(start, int) else 1
            converter = _Converter(first_line)
            try:
                data = converter.convert(node, (), first_line)
            except _Invalid as exc:
                return documents, [Problem(str(exc), file=file, line=exc.line)]
            documents.append(RawDocument(file, first_line, data, converter.lines))
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        error_line: int | None = mark.line + 1 if mark is not None else None
        reason = exc.problem or exc.context or "malformed YAML"
        return documents, [Problem(f"invalid YAML: {reason}", file=file, line=error_line)]
    except YAMLError as exc:
        return documents, [Problem(f"invalid YAML: {exc}".splitlines()[0], file=file)]
    except RecursionError:
        return documents, [Problem("document nested too deeply", file=file)]
    return documents, []


def read_file(path: Path, display: str) -> tuple[list[RawDocument], list[Problem]]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return [], [Problem(f"file is larger than {MAX_FILE_BYTES} bytes", file=display)]
        raw = path.read_bytes()
    except OSError as exc:
        return [], [Problem(f"cannot read: {exc.strerror or exc}", file=display)]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        return [], [Problem("file is not valid UTF-8", file=display, line=line)]
    return parse_text(text, display)


def manifest_files(path: Path) -> Iterator[Path]:
    """A file as given, or a directory's manifest files, recursively, in a stable order.

    Hidden files and directories (`.git`) are skipped."""
    if not path.is_dir():
        yield path
        return
    found = [
        p
        for p in path.rglob("*")
        if p.is_file()
        and p.suffix in MANIFEST_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(path).parts)
    ]
    yield from sorted(found, key=lambda p: p.relative_to(path).parts)
