"""Names for imported objects: valid DNS-1123 labels, unique within their kind, stable.

Foreign configurations name things freely (`drbd_r0`, `MySQL.init`) or not at all
(a haresources line has no name). hactl names are DNS-1123 labels, and Resources and
Groups share one namespace because constraints may point at either. The same input
always yields the same names, so importing twice gives the same manifests.
"""

from __future__ import annotations

import re

MAX_NAME_LENGTH = 63


def to_label(text: str) -> str:
    """`text` as a lower-case DNS-1123 label ('' when nothing usable is left)."""
    label = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return label[:MAX_NAME_LENGTH].rstrip("-")


class NameRegistry:
    """Hands out unique labels: the wanted one, or it with `-2`, `-3`, … appended."""

    def __init__(self) -> None:
        self._taken: set[str] = set()

    def claim(self, *parts: str, fallback: str) -> str:
        base = to_label("-".join(part for part in parts if part)) or fallback
        candidate, number = base, 2
        while candidate in self._taken:
            suffix = f"-{number}"
            candidate = base[: MAX_NAME_LENGTH - len(suffix)].rstrip("-") + suffix
            number += 1
        self._taken.add(candidate)
        return candidate
