"""Problems found in manifests, each pinned to a file, line, object and field."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from reconciler.errors import UsageError

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding; `str()` is the single line an operator reads."""

    message: str
    file: str | None = None
    line: int | None = None
    kind: str | None = None
    name: str | None = None
    field: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        parts = []
        if self.file is not None:
            parts.append(f"{self.file}:{self.line}" if self.line else self.file)
        if self.severity == "warning":
            parts.append("warning")
        if self.kind is not None:
            parts.append(f"{self.kind}/{self.name}" if self.name else self.kind)
        if self.field:
            parts.append(self.field)
        return _printable(": ".join([*parts, self.message]))

    def as_dict(self) -> dict[str, object]:
        return {
            "severity": self.severity,
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "name": self.name,
            "field": self.field,
            "message": self.message,
        }


def _printable(text: str) -> str:
    """One line, whatever a hostile manifest put into its keys and names."""
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


class ManifestError(UsageError):
    """Manifests that cannot be used; carries every problem found, one line each."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = [p for p in problems if p.severity == "error"]
        first = str(self.problems[0]) if self.problems else "invalid manifests"
        more = len(self.problems) - 1
        super().__init__(first + (f" (and {more} more)" if more > 0 else ""))

    def lines(self) -> list[str]:
        return [str(p) if p.file or p.kind else f"error: {p}" for p in self.problems]
