"""The CIB's configuration section: cluster options, defaults, nodes and resources.

Each hactl kind maps onto the Pacemaker element that means the same thing; where the
meaning needs a translation (autoFailback, `hactl:` agents, onFail defaults, fence
devices) the choice is explained in docs/scheduler.md, "Export to Pacemaker".
"""

from __future__ import annotations

from collections import defaultdict
from xml.etree.ElementTree import Element, SubElement

from reconciler.cib.document import Export, duration, nvset, param_text, score, text
from reconciler.cib.ids import clone_id, resource_id, stonith_id
from reconciler.cib.order import placement_order
from reconciler.model.kinds import Group, Operation, Resource, ResourceMeta
from reconciler.model.values import INFINITY
from reconciler.scheduler.failures import on_fail

DEFAULT_MIGRATION_THRESHOLD = 1_000_000
"""Pacemaker's and hactl's default: INFINITY, i.e. never move away for failures."""


def crm_config(export: Export, parent: Element) -> None:
    """Cluster options: fencing, quorum policy, maintenance, watchdog."""
    spec = export.declared.cluster.spec
    options = [
        ("cluster-name", export.declared.cluster.metadata.name),
        ("stonith-enabled", text(spec.stonith.enabled)),
        ("no-quorum-policy", spec.no_quorum_policy),
        ("symmetric-cluster", "true"),
        # The snapshot lists everything that runs: there is nothing to probe for.
        ("enable-startup-probes", "false"),
    ]
    if spec.stonith.watchdog_timeout.milliseconds:
        options += [
            ("have-watchdog", "true"),
            ("stonith-watchdog-timeout", duration(spec.stonith.watchdog_timeout)),
        ]
    if export.snapshot.maintenance:
        options.append(("maintenance-mode", "true"))
    section = SubElement(parent, "crm_config")
    nvset(export, section, "cluster_property_set", "cib-bootstrap-options", options)


def rsc_defaults(export: Export, parent: Element) -> None:
    """The Cluster's resource defaults; autoFailback off is stickiness INFINITY."""
    defaults = export.declared.cluster.spec.defaults
    pairs: list[tuple[str, str]] = []
    if export.sticky_forever:
        pairs.append(("resource-stickiness", "INFINITY"))
    elif defaults.stickiness:
        # Left out at 0: Pacemaker then gives clones stickiness 1, as hactl does.
        pairs.append(("resource-stickiness", score(defaults.stickiness)))
    if defaults.migration_threshold != DEFAULT_MIGRATION_THRESHOLD:
        pairs.append(("migration-threshold", str(defaults.migration_threshold)))
    if defaults.failure_timeout.milliseconds:
        pairs.append(("failure-timeout", duration(defaults.failure_timeout)))
    section = SubElement(parent, "rsc_defaults")
    nvset(export, section, "meta_attributes", "rsc-options", pairs)


def nodes(export: Export, parent: Element) -> None:
    """Every declared node, its permanent attributes, standby and maintenance.

    Standby and maintenance are written as they are in effect (a run-time override
    included); declared attributes that a transient one overrides are left to the
    status section, so each attribute has exactly one value.
    """
    section = SubElement(parent, "nodes")
    for name in sorted(export.declared.nodes):
        spec = export.declared.nodes[name].spec
        state = export.snapshot.nodes.get(name)
        transient = state.attributes if state is not None else {}
        standby = spec.standby if state is None or state.standby is None else state.standby
        maintenance = (
            spec.maintenance if state is None or state.maintenance is None else state.maintenance
        )
        pairs = [(k, text(v)) for k, v in sorted(spec.attributes.items()) if k not in transient]
        if standby:
            pairs.append(("standby", "on"))
        if maintenance:
            pairs.append(("maintenance", "on"))
        node = SubElement(section, "node", id=name, uname=name, type="member")
        nvset(export, node, "instance_attributes", f"nodes-{name}", pairs)


def resources(export: Export, parent: Element) -> None:
    """Groups, clones and primitives in hactl's placement order, then the fence devices."""
    declared = export.declared
    section = SubElement(parent, "resources")
    for name in placement_order(export.snapshot):
        group = declared.groups.get(name)
        if group is not None:
            _group(export, section, group)
            continue
        resource = declared.resources[name]
        if resource.spec.clone is not None:
            _clone(export, section, resource)
        else:
            _primitive(export, section, resource, with_meta=True)
    _fence_devices(export, section)


def reserve_resource_ids(export: Export) -> None:
    """Claim the ids of resources, groups and fence devices before anything else can."""
    for name in sorted(export.declared.groups):
        export.ids.reserve(resource_id(name))
    for name in sorted(export.declared.resources):
        export.ids.reserve(resource_id(name))
        if export.declared.resources[name].spec.clone is not None:
            export.ids.reserve(clone_id(name))
    for name in sorted(export.declared.fence_devices):
        export.ids.reserve(stonith_id(name))


def agent_attributes(agent: str) -> dict[str, str]:
    """class/provider/type of an agent; `hactl:T` is `ocf:hactl:T` (an OCF agent of ours)."""
    kind, _, rest = agent.partition(":")
    if kind == "lsb":
        return {"class": "lsb", "type": rest}
    provider, _, agent_type = rest.partition(":") if kind == "ocf" else ("hactl", "", rest)
    return {"class": "ocf", "provider": provider, "type": agent_type}


# --- resources -----------------------------------------------------------------------


def _group(export: Export, parent: Element, group: Group) -> None:
    rid = resource_id(group.metadata.name)
    element = SubElement(parent, "group", id=rid)
    nvset(export, element, "meta_attributes", f"{rid}_meta", _meta(export, group.spec.meta))
    for member in group.spec.resources:
        _primitive(export, element, export.declared.resources[member], with_meta=True)


def _clone(export: Export, parent: Element, resource: Resource) -> None:
    spec = resource.spec.clone
    assert spec is not None
    cid = clone_id(resource.metadata.name)
    element = SubElement(parent, "clone", id=cid)
    pairs = [("clone-node-max", str(spec.per_node))]
    if spec.per_node > 1:
        # Pacemaker runs one instance of an anonymous clone per node at most.
        pairs.append(("globally-unique", "true"))
    if spec.max is not None:
        pairs.insert(0, ("clone-max", str(spec.max)))
    if spec.promotable:
        pairs += [
            ("promotable", "true"),
            ("promoted-max", str(spec.promoted_max)),
            ("promoted-node-max", str(spec.promoted_per_node)),
        ]
    pairs += _meta(export, resource.spec.meta)
    nvset(export, element, "meta_attributes", f"{cid}_meta", pairs)
    _primitive(export, element, resource, with_meta=False)


def _primitive(export: Export, parent: Element, resource: Resource, *, with_meta: bool) -> None:
    rid = resource_id(resource.metadata.name)
    element = SubElement(parent, "primitive", {"id": rid, **agent_attributes(resource.spec.agent)})
    params = [(k, param_text(k, v)) for k, v in sorted(resource.spec.params.items())]
    nvset(export, element, "instance_attributes", f"{rid}_params", params)
    if with_meta:
        nvset(export, element, "meta_attributes", f"{rid}_meta", _meta(export, resource.spec.meta))
    if resource.spec.ops:
        operations = SubElement(element, "operations")
        for op in resource.spec.ops:
            _operation(export, operations, resource, op)


def _operation(export: Export, parent: Element, resource: Resource, op: Operation) -> None:
    parts = [resource_id(resource.metadata.name), op.name, str(op.interval.milliseconds)]
    attributes = {
        "id": export.ids.new(*parts, *([op.role] if op.role else [])),
        "name": op.name,
        "interval": duration(op.interval),
        "timeout": duration(op.timeout),
    }
    if op.role is not None:
        attributes["role"] = op.role
    if op.on_fail is not None:
        # hactl's effective policy (a stop only fences or blocks; a fence that cannot
        # happen blocks), so that Pacemaker does what hactl would.
        attributes["on-fail"] = on_fail(resource, op.name, can_fence=export.stonith_enabled)
    SubElement(parent, "op", attributes)


def _meta(export: Export, meta: ResourceMeta) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    if meta.stickiness is not None:
        sticky = INFINITY if export.sticky_forever else meta.stickiness
        pairs.append(("resource-stickiness", score(sticky)))
    if meta.migration_threshold is not None:
        pairs.append(("migration-threshold", str(meta.migration_threshold)))
    if meta.failure_timeout is not None:
        pairs.append(("failure-timeout", duration(meta.failure_timeout)))
    if meta.target_role != "Started":
        pairs.append(("target-role", meta.target_role))
    return pairs


# --- fencing -------------------------------------------------------------------------


def _fence_devices(export: Export, parent: Element) -> None:
    for name, device in sorted(export.declared.fence_devices.items()):
        spec = device.spec
        element = SubElement(parent, "primitive", id=stonith_id(name), type=spec.driver)
        element.set("class", "stonith")
        params = [(k, param_text(k, v)) for k, v in sorted(spec.params.items())]
        params += [
            ("pcmk_host_list", " ".join(spec.nodes)),
            ("pcmk_reboot_timeout", duration(spec.timeout)),
        ]
        nvset(export, element, "instance_attributes", f"{stonith_id(name)}_params", params)


def fencing_topology(export: Export, parent: Element) -> None:
    """One fencing-level per node and level, listing the devices of that level in name order."""
    levels: dict[tuple[str, int], list[str]] = defaultdict(list)
    for name, device in sorted(export.declared.fence_devices.items()):
        for node in device.spec.nodes:
            levels[(node, device.spec.level)].append(stonith_id(name))
    if not levels:
        return
    section = SubElement(parent, "fencing-topology")
    for (node, level), devices in sorted(levels.items()):
        SubElement(
            section,
            "fencing-level",
            id=export.ids.new("fencing", node, str(level)),
            target=node,
            index=str(level),
            devices=",".join(devices),
        )
