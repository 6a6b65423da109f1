"""Reading foreign configuration files as positioned tokens, for every importer.

Old cluster configurations are line-oriented (ha.cf, haresources): a directive and
its words, `#` comments, sometimes backslash continuations. Every token keeps the
file and line it came from, so a mistake is reported as `file:line: message` and a
warning points at the line an operator has to look at. Reading is the only I/O here
and it refuses what no configuration file can be: huge, binary, or not UTF-8 text.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from reconciler.errors import UsageError

MAX_INPUT_BYTES = 1024 * 1024
"""Real ha.cf and haresources files are a few kilobytes; anything larger is a mistake."""


@dataclass(frozen=True)
class SourceText:
    """The text of one input file and the name to show for it in messages."""

    name: str
    text: str


@dataclass(frozen=True, order=True)
class Origin:
    """A position in an input file: the name shown to the user and a 1-based line
    (0: the file as a whole)."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


@dataclass(frozen=True)
class Diagnostic:
    """A warning about one input line: what was not carried over, and why."""

    origin: Origin
    message: str

    def __str__(self) -> str:
        return f"{self.origin}: {self.message}"


@dataclass(frozen=True)
class Token:
    text: str
    origin: Origin


@dataclass(frozen=True)
class Line:
    """One logical line: its words (continuations joined) and where it starts."""

    tokens: tuple[Token, ...]
    origin: Origin

    @property
    def words(self) -> list[str]:
        return [t.text for t in self.tokens]

    @property
    def text(self) -> str:
        """The line as one string, single-spaced (for comments in the output)."""
        return " ".join(self.words)


def fail(origin: Origin, message: str) -> NoReturn:
    """Stop the import on a line that cannot be translated."""
    raise UsageError(f"{origin}: {message}")


def logical_lines(source: SourceText, *, continuations: bool) -> Iterator[Line]:
    """The non-empty lines of a file, comments removed (`#` to the end of the line,
    as heartbeat does), and with `continuations` a trailing backslash joining the next
    line (haresources)."""
    pending: list[Token] = []
    start: Origin | None = None
    for number, raw in enumerate(source.text.split("\n"), start=1):
        origin = Origin(source.name, number)
        body = raw.split("#", 1)[0].rstrip()
        joined = continuations and body.endswith("\\")
        if joined:
            body = body[:-1]
        words = [Token(word, origin) for word in body.split()]
        if words and start is None:
            start = origin
        pending.extend(words)
        if joined:
            continue
        if pending and start is not None:
            yield Line(tuple(pending), start)
        pending, start = [], None
    if pending and start is not None:  # a backslash on the last line continues nothing
        yield Line(tuple(pending), start)


def read_source(path: Path, *, name: str | None = None) -> SourceText:
    """Read one input file as text, or raise UsageError saying why it cannot be."""
    shown = name or str(path)
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_INPUT_BYTES + 1)
    except FileNotFoundError:
        raise UsageError(f"{shown}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{shown}: is a directory, not a file") from None
    except OSError as exc:
        raise UsageError(f"{shown}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise UsageError(f"{shown}: larger than {MAX_INPUT_BYTES} bytes; not a configuration file")
    return SourceText(shown, _decode(shown, data))


def _decode(shown: str, data: bytes) -> str:
    nul = data.find(b"\x00")
    if nul >= 0:
        _fail_at_byte(shown, data, offset=nul, message="contains a NUL byte; not a text file")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        _fail_at_byte(shown, data, offset=exc.start, message="not UTF-8 text")


def _fail_at_byte(shown: str, data: bytes, *, offset: int, message: str) -> NoReturn:
    fail(Origin(shown, data.count(b"\n", 0, offset) + 1), message)
