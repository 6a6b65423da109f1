"""heartbeat's `stonith_host` and `stonith` lines as FenceDevice documents.

heartbeat configured a STONITH plugin (cluster-glue) by type and positional words;
hactl runs fence drivers with the fence-agents API (`key=value` lines on stdin). A
plugin becomes its fence-agents equivalent only where every word translates without
loss; any other plugin is kept exactly as it was, run through Pacemaker's
`fence_legacy`, which drives the same cluster-glue plugin with its own parameter
names. Fencing is what keeps data safe, so a guessed translation is worse than an
unchanged one. The mapping table is documented in docs/import-heartbeat.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from reconciler.importers.documents import Draft, make
from reconciler.importers.names import NameRegistry
from reconciler.importers.source import Diagnostic, Line, Origin, fail

LEGACY_DRIVER = "fence_legacy"
FROM_HOST_ANNOTATION = "heartbeat.hactl/stonith-host"

Rename = str | tuple[str, Mapping[str, str]] | None
"""A fence-agents option name, a name plus a value map, or None: not passed on
(the word only says which node the device fences)."""


@dataclass(frozen=True)
class Plugin:
    """A cluster-glue STONITH plugin: its parameter names in heartbeat's positional
    order (the last one takes the rest of the line), and its native equivalent."""

    names: tuple[str, ...]
    required: int
    native: str | None = None
    rename: Mapping[str, Rename] = field(default_factory=dict)
    note: str | None = None


PLUGINS: Mapping[str, Plugin] = {
    "apcmaster": Plugin(
        ("ipaddr", "login", "password"),
        3,
        "fence_apc",
        {"ipaddr": "ip", "login": "username", "password": "password"},
    ),
    "apcmastersnmp": Plugin(
        ("ipaddr", "port", "community"),
        3,
        "fence_apc_snmp",
        {"ipaddr": "ip", "port": "ipport", "community": "community"},
    ),
    "wti_nps": Plugin(
        ("ipaddr", "password"), 2, "fence_wti", {"ipaddr": "ip", "password": "password"}
    ),
    "external/ipmi": Plugin(
        ("hostname", "ipaddr", "userid", "passwd", "interface"),
        4,
        "fence_ipmilan",
        {
            "hostname": None,
            "ipaddr": "ip",
            "userid": "username",
            "passwd": "password",
            "interface": ("lanplus", {"lan": "0", "lanplus": "1"}),
        },
    ),
    "ipmilan": Plugin(
        ("hostname", "ipaddr", "port", "auth", "priv", "login", "password", "reset_method"),
        7,
        "fence_ipmilan",
        {
            "hostname": None,
            "ipaddr": "ip",
            "port": "ipport",
            "auth": ("auth", {"none": "none", "straight": "password", "md5": "md5"}),
            "priv": ("privlvl", {"operator": "operator", "admin": "administrator"}),
            "login": "username",
            "password": "password",
            "reset_method": ("method", {"power_cycle": "cycle"}),
        },
    ),
    "rps10": Plugin(("serial_to_targets",), 1),
    "baytech": Plugin(("ipaddr", "login", "password"), 3),
    "apcsmart": Plugin(("ttydev", "hostlist"), 2),
    "nw_rpc100s": Plugin(("ttydev", "hostlist"), 2),
    "meatware": Plugin(
        ("hostlist",),
        1,
        note="meatware waits for an operator to confirm each fencing (cluster-glue's "
        "`meatclient -c NODE`)",
    ),
    "null": Plugin(("hostlist",), 1, note="the null plugin fences nothing: for tests only"),
    "ssh": Plugin(("hostlist",), 1, note="ssh fencing fails when the node hangs: tests only"),
    "external/ssh": Plugin(
        ("hostlist",), 1, note="ssh fencing fails when the node hangs: tests only"
    ),
}


@dataclass(frozen=True)
class Fencing:
    """The FenceDevice documents of ha.cf and the warnings about them."""

    drafts: list[Draft]
    warnings: list[Diagnostic]
    declared: bool
    """Whether ha.cf asked for STONITH at all (even with devices that could not be mapped)."""


def import_fencing(lines: Sequence[Line], *, nodes: Sequence[str], names: NameRegistry) -> Fencing:
    """FenceDevices for the `stonith_host` and `stonith` lines of ha.cf, in file order."""
    drafts: list[Draft] = []
    warnings: list[Diagnostic] = []
    for line in lines:
        words = line.words
        if words[0] == "stonith_host":
            draft, warning = _stonith_host(line, nodes=nodes, names=names)
        else:
            draft, warning = _stonith_file(line, nodes=nodes, names=names)
        if draft is not None:
            drafts.append(draft)
        if warning is not None:
            warnings.append(Diagnostic(line.origin, warning))
    return Fencing(drafts, warnings, declared=bool(lines))


def _stonith_host(
    line: Line, *, nodes: Sequence[str], names: NameRegistry
) -> tuple[Draft | None, str | None]:
    """`stonith_host <from-host|*> <type> <params…>`: one device, reachable from one host."""
    words = line.words
    if len(words) < 3:
        fail(line.origin, "stonith_host needs a host (or *), a STONITH type and its parameters")
    from_host, kind = words[1].lower(), words[2]
    if from_host != "*" and from_host not in nodes:
        fail(line.origin, f"stonith_host names {words[1]!r}, which no node line declares")
    plugin = PLUGINS.get(kind)
    if plugin is None:
        return None, (
            f"STONITH type {kind!r} is not known to the importer: no FenceDevice was made; "
            "declare one by hand (see docs/import-heartbeat.md)"
        )
    values = _positional(line, plugin, kind=kind, words=words[3:])
    driver, params, notes = _driver_and_params(kind, plugin, values=values)
    fenced = _fenced_nodes(line.origin, values, nodes=nodes, from_host=from_host)
    annotations = None
    if from_host != "*":
        annotations = {FROM_HOST_ANNOTATION: from_host}
        notes.append(
            f"heartbeat used it from {from_host} only (kept as annotation "
            f"{FROM_HOST_ANNOTATION}); no hactl field restricts where a driver runs"
        )
    name = names.claim(
        kind.rsplit("/", 1)[-1], "" if from_host == "*" else from_host, fallback="fence"
    )
    spec = {"driver": driver, "params": params, "nodes": fenced}
    document = make("FenceDevice", name, spec, annotations=annotations)
    return Draft(document, line.origin), _warning(name, notes)


def _stonith_file(
    line: Line, *, nodes: Sequence[str], names: NameRegistry
) -> tuple[Draft | None, str | None]:
    """`stonith <type> <configfile>`: the parameters live in a file on the old nodes,
    which the importer does not read."""
    words = line.words
    if len(words) != 3:
        fail(line.origin, "stonith needs a STONITH type and a configuration file")
    kind, config_file = words[1], words[2]
    plugin = PLUGINS.get(kind)
    if plugin is None:
        return None, f"STONITH type {kind!r} is not known to the importer: no FenceDevice was made"
    driver = plugin.native or LEGACY_DRIVER
    params = {} if plugin.native else {"plugin": kind}
    name = names.claim(kind.rsplit("/", 1)[-1], fallback="fence")
    document = make("FenceDevice", name, {"driver": driver, "params": params, "nodes": list(nodes)})
    notes = [f"its parameters are in {config_file}, which was not read: copy them into spec.params"]
    return Draft(document, line.origin), _warning(name, notes)


def _positional(line: Line, plugin: Plugin, *, kind: str, words: list[str]) -> dict[str, str]:
    """heartbeat's positional words by parameter name; the last name takes the rest."""
    if len(words) < plugin.required:
        expected = " ".join(plugin.names[: plugin.required])
        fail(line.origin, f"STONITH type {kind} needs {plugin.required} parameters: {expected}")
    count = len(plugin.names)
    head, rest = words[: count - 1], words[count - 1 :]
    values = dict(zip(plugin.names, head, strict=False))
    if rest:
        values[plugin.names[-1]] = " ".join(rest)
    return values


def _driver_and_params(
    kind: str, plugin: Plugin, *, values: Mapping[str, str]
) -> tuple[str, dict[str, str], list[str]]:
    """The native driver when every value translates, else the plugin through fence_legacy."""
    notes = [plugin.note] if plugin.note else []
    if plugin.native is not None:
        params, untranslated = _translate(plugin, values)
        if not untranslated:
            return plugin.native, params, notes
        notes.append(f"{untranslated} has no {plugin.native} equivalent")
    notes.append(
        f"runs the heartbeat plugin unchanged through {LEGACY_DRIVER} (needs cluster-glue)"
    )
    return LEGACY_DRIVER, {"plugin": kind, **values}, notes


def _translate(plugin: Plugin, values: Mapping[str, str]) -> tuple[dict[str, str], str | None]:
    params: dict[str, str] = {}
    for name, value in values.items():
        target = plugin.rename.get(name)
        if target is None:
            continue
        if isinstance(target, str):
            params[target] = value
            continue
        option, value_map = target
        if value not in value_map:
            return {}, f"{name} {value!r}"
        params[option] = value_map[value]
    return params, None


def _fenced_nodes(
    origin: Origin, values: Mapping[str, str], *, nodes: Sequence[str], from_host: str
) -> list[str]:
    """The declared nodes named in the parameters (host lists, outlet maps, IPMI host
    names); when none is named, every node but the one the device hangs off."""
    words = {word.lower() for value in values.values() for word in value.split()}
    named = [node for node in nodes if node in words]
    fenced = named or [node for node in nodes if node != from_host]
    if not fenced:
        fail(origin, "cannot tell which nodes this STONITH device fences")
    return fenced


def _warning(name: str, notes: list[str]) -> str | None:
    return f"FenceDevice {name}: " + "; ".join(notes) if notes else None
