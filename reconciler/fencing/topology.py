"""Which FenceDevices can fence a node, in the order they are tried (pure).

Pacemaker's fencing topology: levels are tried in ascending order; within a level every
device must succeed for the level to succeed; the first level that succeeds ends the
fencing. hactl declares the level on the device (`spec.level`, 1 to 9) and the nodes it can
fence (`spec.nodes`), so a node's topology is read off its devices; devices of one level run
in name order, which makes the order reproducible across leaders.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from itertools import groupby

from reconciler.model.kinds import FenceDevice


@dataclass(frozen=True, slots=True)
class Level:
    """One topology level for one node: its number and its devices, in the order run."""

    number: int
    devices: tuple[FenceDevice, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(device.metadata.name for device in self.devices)


def levels_for(node: str, devices: Iterable[FenceDevice]) -> list[Level]:
    """The levels that can fence `node`, lowest first; empty when nothing can fence it."""
    usable = sorted(
        (d for d in devices if node in d.spec.nodes),
        key=lambda d: (d.spec.level, d.metadata.name),
    )
    return [
        Level(number, tuple(group)) for number, group in groupby(usable, lambda d: d.spec.level)
    ]
