"""What every part of the export shares: the snapshot, the ids, and value spellings.

Pacemaker spells values its own way (`on`/`true`, `INFINITY`, `10s`, millisecond
intervals); doing it in one place keeps the configuration and the status sections
consistent with each other and with what crm_simulate parses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, SubElement

from reconciler.changes import REDACTED
from reconciler.cib.ids import Ids, clone_id, resource_id
from reconciler.loader import is_secret_param
from reconciler.model.base import ScalarValue
from reconciler.model.declared import DeclaredState
from reconciler.model.values import Duration
from reconciler.scheduler.terms import score_text
from reconciler.snapshot import ClusterSnapshot


@dataclass
class Export:
    """One export in progress: the snapshot and the ids handed out so far."""

    snapshot: ClusterSnapshot
    ids: Ids = field(default_factory=Ids)

    @property
    def declared(self) -> DeclaredState:
        return self.snapshot.declared

    @property
    def stonith_enabled(self) -> bool:
        return self.declared.cluster.spec.stonith.enabled

    @property
    def sticky_forever(self) -> bool:
        """autoFailback off: hactl keeps what runs where it runs (see `stickiness`)."""
        return not self.declared.cluster.spec.auto_failback

    def ref(self, name: str) -> str:
        """The id a constraint names for a hactl resource or group (a clone: its wrapper)."""
        resource = self.declared.resources.get(name)
        if resource is not None and resource.spec.clone is not None:
            return clone_id(name)
        return resource_id(name)


def text(value: ScalarValue) -> str:
    """A parameter or attribute value as Pacemaker stores it (booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def param_text(name: str, value: ScalarValue) -> str:
    """A parameter's value, secrets hidden as in every other hactl output (SPEC §5.6)."""
    return REDACTED if is_secret_param(name) else text(value)


def score(value: int) -> str:
    return score_text(int(value))


def duration(value: Duration) -> str:
    """`10s` or `200ms`: units every Pacemaker duration parser reads the same way."""
    ms = value.milliseconds
    return f"{ms // 1000}s" if ms % 1000 == 0 else f"{ms}ms"


def nvset(
    export: Export, parent: Element, tag: str, set_id: str, pairs: Iterable[tuple[str, str]]
) -> Element | None:
    """An `instance_attributes`/`meta_attributes` block, or nothing when it would be empty."""
    items = list(pairs)
    if not items:
        return None
    block = SubElement(parent, tag, id=export.ids.new(set_id))
    for name, value in items:
        SubElement(block, "nvpair", id=export.ids.new(set_id, name), name=name, value=value)
    return block
