"""haresources lines as Groups, their Resources, and the constraints heartbeat implied.

A haresources line is `node entry entry …`: a resource group, started left to right on
its preferred node and stopped right to left — exactly a hactl Group plus a Location
preferring that node. Two things heartbeat did implicitly need explicit objects here:

- a DRBD disk (`drbddisk::r0`) was made primary wherever the group ran; in hactl it is
  a promotable clone outside the group, with the group colocated with its Promoted
  role and started only after the promotion (Pacemaker's standard DRBD recipe);
- ipfail moved groups away from a node that lost its ping nodes; here each group gets
  a Location rule banning nodes whose connectivity attribute is below 1.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from reconciler.importers.documents import Draft, make
from reconciler.importers.heartbeat_agents import Agent, map_entry
from reconciler.importers.names import NameRegistry
from reconciler.importers.source import Diagnostic, Line, SourceText, fail, logical_lines

PREFERRED_NODE_SCORE = 100
"""Location score for a line's first-field node: a preference, not a pin (a failed-over
group may run elsewhere), and small against INFINITY constraints."""

DRBD_CLONE = {"max": 2, "perNode": 1, "promotable": True, "promotedMax": 1}
"""DRBD (as heartbeat knew it) mirrors between two nodes, one of them primary."""


@dataclass(frozen=True)
class Placement:
    """What every group's constraints depend on, decided from ha.cf."""

    nodes: Sequence[str]
    connectivity_attribute: str | None
    """The node attribute ipfail/pingd sets, when either is in use."""


@dataclass(frozen=True)
class Names:
    """Resources and Groups share a namespace (constraints may name either); all
    constraint kinds share another."""

    targets: NameRegistry = field(default_factory=NameRegistry)
    constraints: NameRegistry = field(default_factory=NameRegistry)


@dataclass
class Imported:
    drafts: list[Draft] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)


def import_resources(source: SourceText, *, placement: Placement, names: Names) -> Imported:
    """Every haresources line, in file order, as its documents."""
    imported = Imported()
    for index, line in enumerate(logical_lines(source, continuations=True), start=1):
        _import_line(line, index=index, placement=placement, names=names, imported=imported)
    return imported


def _import_line(
    line: Line, *, index: int, placement: Placement, names: Names, imported: Imported
) -> None:
    node_token, *entries = line.tokens
    node = node_token.text.lower()
    if node not in placement.nodes:
        fail(line.origin, f"{node_token.text!r} is not a node declared in ha.cf")
    if not entries:
        fail(line.origin, f"no resources after the node name {node_token.text!r}")
    agents: list[Agent] = []
    for token in entries:
        mapped = map_entry(token)
        agents.append(mapped.agent)
        if mapped.warning:
            imported.warnings.append(Diagnostic(token.origin, mapped.warning))
    builder = _LineBuilder(line, node=node, placement=placement, names=names)
    builder.build(agents, index)
    imported.drafts.extend(builder.drafts)
    imported.warnings.extend(builder.warnings)


class _LineBuilder:
    """The documents of one haresources line, in output order."""

    def __init__(self, line: Line, *, node: str, placement: Placement, names: Names) -> None:
        self.origin = line.origin
        self.comment = f"{line.origin}: {line.text}"
        self.node = node
        self.placement = placement
        self.names = names
        self.drafts: list[Draft] = []
        self.warnings: list[Diagnostic] = []

    def build(self, agents: list[Agent], index: int) -> None:
        group = self.names.targets.claim(_group_label(agents), fallback=f"group-{index}")
        naming_service = next((a for a in reversed(agents) if a.service), None)
        drbds = [self._drbd(group, agent) for agent in agents if agent.drbd]
        members = [
            self._resource(group, agent, names_group=agent is naming_service)
            for agent in agents
            if not agent.drbd
        ]
        if members:
            self._add("Group", group, {"resources": members})
            self._locations(group, group, role=None)
            for drbd in drbds:
                self._tie_to_drbd(group, drbd)
        else:  # only DRBD disks: the preferences apply to where they are primary
            for drbd in drbds:
                self._locations(group, drbd, role="Promoted")

    def _resource(self, group: str, agent: Agent, *, names_group: bool) -> str:
        name = self.names.targets.claim(
            group, "service" if names_group else agent.role, fallback=group
        )
        spec: dict[str, Any] = {"agent": agent.agent}
        if agent.params:
            spec["params"] = agent.params
        self._add("Resource", name, spec)
        return name

    def _drbd(self, group: str, agent: Agent) -> str:
        name = self.names.targets.claim(group, "drbd", fallback=group)
        spec = {"agent": agent.agent, "params": agent.params, "clone": dict(DRBD_CLONE)}
        self._add("Resource", name, spec)
        if len(self.placement.nodes) > DRBD_CLONE["max"]:
            self._warn(
                f"Resource {name}: DRBD runs on {DRBD_CLONE['max']} of the "
                f"{len(self.placement.nodes)} nodes; add Locations for the nodes that hold "
                f"DRBD resource {agent.params['drbd_resource']!r}"
            )
        return name

    def _locations(self, group: str, target: str, *, role: str | None) -> None:
        extra = {"role": role} if role else {}
        name = self.names.constraints.claim(group, "prefers", self.node, fallback=group)
        spec = {"resource": target, "node": self.node, "score": PREFERRED_NODE_SCORE, **extra}
        self._add("Location", name, spec)
        attribute = self.placement.connectivity_attribute
        if attribute is None:
            return
        rule = {"attribute": attribute, "op": "lt", "value": "1", "score": "-INFINITY"}
        name = self.names.constraints.claim(group, "needs-connectivity", fallback=group)
        self._add("Location", name, {"resource": target, "rules": [rule], **extra})

    def _tie_to_drbd(self, group: str, drbd: str) -> None:
        """The group runs where the DRBD disk is Promoted, and starts after promotion."""
        colocation = {"resource": group, "with": drbd, "score": "INFINITY", "withRole": "Promoted"}
        self._add(
            "Colocation",
            self.names.constraints.claim(group, "with", drbd, fallback=group),
            colocation,
        )
        order = {
            "first": drbd,
            "firstAction": "promote",
            "then": group,
            "thenAction": "start",
            "kind": "Mandatory",
        }
        self._add(
            "Order", self.names.constraints.claim(drbd, "before", group, fallback=drbd), order
        )

    def _add(self, kind: str, name: str, spec: dict[str, Any]) -> None:
        """The first document of a line carries the line itself as a comment."""
        comment = None if self.drafts else self.comment
        self.drafts.append(Draft(make(kind, name, spec), self.origin, comment))

    def _warn(self, message: str) -> None:
        self.warnings.append(Diagnostic(self.origin, message))


def _group_label(agents: list[Agent]) -> str:
    """A group is named after its last service (`apache`, `mysql`), else numbered."""
    services = [agent.role for agent in agents if agent.service]
    return services[-1] if services else ""
