"""XML ids for the exported CIB: valid, unique across the document, and stable.

Pacemaker's schema types most `id` attributes as XML IDs: an NCName (a letter or `_`
first; no `#`, `:` or `/`), unique in the whole CIB. hactl names are DNS-1123 labels,
unique per kind, and may start with a digit. Resources and groups keep their names
(`_` prefixed when they start with a digit) so that what crm_simulate prints reads
back as hactl names: hactl names never contain `_`, which makes that prefix, and the
`_`-joined ids derived from names (`web_meta`, `location_web-on-n1`), free of clashes
with any resource. Everything is derived from names and positions, never from
counters shared across runs, so the same snapshot always gives the same document.
"""

from __future__ import annotations

import re

_NOT_NCNAME = re.compile(r"[^A-Za-z0-9_.-]")


def resource_id(name: str) -> str:
    """The id of a resource or group named `name` (`_` first when it starts with a digit)."""
    return name if name[:1].isalpha() else f"_{name}"


def clone_id(name: str) -> str:
    """The id of the `<clone>` wrapping the promotable/cloned resource `name`."""
    return f"{resource_id(name)}_clone"


def stonith_id(name: str) -> str:
    """The id of the stonith primitive standing for the FenceDevice `name`."""
    return f"stonith_{name}"


def name_of(xml_id: str) -> str:
    """The hactl resource name behind a primitive id crm_simulate prints (`db:1` → `db`)."""
    base = xml_id.split(":", 1)[0]
    return base[1:] if base.startswith("_") else base


class Ids:
    """Hands out ids no other element of the document has; resources reserved first."""

    def __init__(self) -> None:
        self._used: set[str] = set()

    def reserve(self, xml_id: str) -> str:
        """Claim an exact id (a resource's): it must not have been handed out yet."""
        if xml_id in self._used:
            raise ValueError(f"duplicate CIB id {xml_id!r}")
        self._used.add(xml_id)
        return xml_id

    def new(self, *parts: str) -> str:
        """An id made of `parts` joined by `_`, made valid, with `.N` added if taken."""
        base = _NOT_NCNAME.sub("_", "_".join(parts))
        if not base[:1].isalpha() and not base.startswith("_"):
            base = f"_{base}"
        candidate, n = base, 2
        while candidate in self._used:
            candidate, n = f"{base}.{n}", n + 1
        self._used.add(candidate)
        return candidate
