"""Small value types of the manifest language: durations and Pacemaker scores.

Both are immutable, parse from the strings operators write, and print back in the
same canonical form, so a manifest survives a round trip through the store unchanged.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000}


class Duration:
    """A non-negative span of time with millisecond resolution: `200ms`, `1s`, `2m`, `1h`.

    A bare number in a string means seconds, as in heartbeat's ha.cf (`initdeadtime 30`)
    and Pacemaker's op intervals; a YAML number is refused so the unit is never a guess.
    """

    __slots__ = ("_ms",)
    PATTERN: ClassVar[str] = r"^\s*\d+(\.\d+)?\s*(ms|s|m|h)?\s*$"

    def __init__(self, milliseconds: int) -> None:
        if milliseconds < 0:
            raise ValueError("a duration cannot be negative")
        self._ms = int(milliseconds)

    @classmethod
    def parse(cls, text: str | int | float) -> Duration:
        if isinstance(text, bool):
            raise ValueError("a duration is a string like '200ms', '1s' or '2m'")
        if isinstance(text, int | float):
            if text < 0:
                raise ValueError("a duration cannot be negative")
            return cls(round(text * 1000))
        match = _DURATION_RE.match(text)
        if match is None:
            raise ValueError(f"invalid duration {text!r}: use a number with ms, s, m or h")
        number, unit = match.groups()
        return cls(round(float(number) * _UNIT_MS[unit or "s"]))

    @property
    def milliseconds(self) -> int:
        return self._ms

    @property
    def seconds(self) -> float:
        return self._ms / 1000

    def __str__(self) -> str:
        ms = self._ms
        for unit, size in (("h", 3_600_000), ("m", 60_000), ("s", 1000)):
            if ms and ms % size == 0:
                return f"{ms // size}{unit}"
        return f"{ms}ms" if ms else "0s"

    def __repr__(self) -> str:
        return f"Duration({str(self)!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Duration) and other._ms == self._ms

    def __lt__(self, other: Duration) -> bool:
        return self._ms < other._ms

    def __le__(self, other: Duration) -> bool:
        return self._ms <= other._ms

    def __gt__(self, other: Duration) -> bool:
        return self._ms > other._ms

    def __ge__(self, other: Duration) -> bool:
        return self._ms >= other._ms

    def __hash__(self) -> int:
        return hash(self._ms)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Duration:
            if isinstance(value, Duration):
                return value
            if isinstance(value, str):
                return cls.parse(value)
            raise ValueError("a duration is a string like '200ms', '1s' or '2m', with its unit")

        return core_schema.no_info_plain_validator_function(
            validate, serialization=core_schema.plain_serializer_function_ser_schema(str)
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": cls.PATTERN, "examples": ["200ms", "1s", "2m"]}


INFINITY = 1_000_000
_SCORE_WORDS = {"INFINITY": INFINITY, "+INFINITY": INFINITY, "-INFINITY": -INFINITY}


class Score(int):
    """A Pacemaker score: an integer saturating at ±INFINITY (1,000,000).

    Addition follows Pacemaker: any -INFINITY term wins, so
    INFINITY + -INFINITY == -INFINITY; otherwise sums saturate at the bounds.
    """

    __slots__ = ()

    def __new__(cls, value: int) -> Score:
        return super().__new__(cls, max(-INFINITY, min(INFINITY, int(value))))

    @classmethod
    def parse(cls, value: str | int) -> Score:
        if isinstance(value, bool):
            raise ValueError("a score is an integer, INFINITY or -INFINITY")
        if isinstance(value, int):
            return cls(value)
        text = value.strip()
        if text.upper() in _SCORE_WORDS:
            return cls(_SCORE_WORDS[text.upper()])
        if re.fullmatch(r"[+-]?\d+", text):
            return cls(int(text))
        raise ValueError(f"invalid score {value!r}: use an integer, INFINITY or -INFINITY")

    def __add__(self, other: int) -> Score:
        other = int(other)
        if self <= -INFINITY or other <= -INFINITY:
            return Score(-INFINITY)
        if self >= INFINITY or other >= INFINITY:
            return Score(INFINITY)
        return Score(int(self) + other)

    __radd__ = __add__

    def __neg__(self) -> Score:
        return Score(-int(self))

    @property
    def is_infinite(self) -> bool:
        return abs(int(self)) >= INFINITY

    def __str__(self) -> str:
        if self >= INFINITY:
            return "INFINITY"
        if self <= -INFINITY:
            return "-INFINITY"
        return str(int(self))

    def __repr__(self) -> str:
        return f"Score({self})"

    def to_manifest(self) -> int | str:
        """The value as written in a manifest: an int, or INFINITY/-INFINITY."""
        return str(self) if self.is_infinite else int(self)

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        def validate(value: Any) -> Score:
            if isinstance(value, Score):
                return value
            if isinstance(value, str | int) and not isinstance(value, bool):
                return cls.parse(value)
            raise ValueError("a score is an integer, INFINITY or -INFINITY")

        return core_schema.no_info_plain_validator_function(
            validate,
            serialization=core_schema.plain_serializer_function_ser_schema(
                lambda s: s.to_manifest()
            ),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {
            "oneOf": [
                {"type": "integer"},
                {"type": "string", "enum": ["INFINITY", "+INFINITY", "-INFINITY"]},
            ]
        }
