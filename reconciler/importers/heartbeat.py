"""`hactl import heartbeat`: a heartbeat v1 configuration (ha.cf + haresources) as manifests.

Operators leaving heartbeat have a working two-file configuration; this turns it into
the Cluster, Node, FenceDevice, Resource, Group and constraint documents that do the
same under hactl, and warns, line by line, about everything it did not carry over.
The Cluster states the timings heartbeat actually ran with (its defaults filled in,
not hactl's). The mapping is pure (text in, documents and warnings out); only
`import_files` touches the file system, and nothing from the input is ever executed.
Decisions and the full mapping table: docs/import-heartbeat.md.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reconciler.errors import UsageError
from reconciler.importers.documents import Draft, ImportResult, make, render_yaml, validate
from reconciler.importers.heartbeat_cf import HaCf, Value, parse_duration_ms, read_ha_cf
from reconciler.importers.heartbeat_resources import Names, Placement, import_resources
from reconciler.importers.heartbeat_stonith import import_fencing
from reconciler.importers.names import NameRegistry
from reconciler.importers.source import Diagnostic, Line, Origin, SourceText, fail, read_source
from reconciler.model.base import ATTRIBUTE_NAME_PATTERN, is_valid_name
from reconciler.model.values import Duration

__all__ = ["ImportResult", "convert", "import_files", "render_yaml"]

HEARTBEAT_CLUSTER_NAME = "linux-ha"
"""heartbeat's own default for its `cluster` directive."""

HEARTBEAT_KEEPALIVE_MS = 1000
HEARTBEAT_DEADTIME_MS = 30_000
"""heartbeat's defaults when ha.cf does not set keepalive / deadtime."""

CONNECTIVITY_ATTRIBUTE = "pingd"
CONNECTIVITY_MULTIPLIER = 1000
"""Pacemaker's customary ping multiplier; larger than the preferred-node score (100),
so a hand-added `scoreAttribute` rule lets connectivity outweigh preference, as
ipfail did."""

_TRUE = frozenset({"true", "on", "yes", "y", "1"})
_FALSE = frozenset({"false", "off", "no", "n", "0"})


def import_files(
    ha_cf: Path, haresources: Path, *, cluster_name: str | None = None
) -> ImportResult:
    """Read both files and convert them (the only I/O of the importer)."""
    return convert(read_source(ha_cf), read_source(haresources), cluster_name=cluster_name)


def convert(
    ha_cf: SourceText, haresources: SourceText, *, cluster_name: str | None = None
) -> ImportResult:
    """The manifests for one heartbeat configuration, validated, in output order:
    Cluster, Nodes, FenceDevices, then each haresources line's documents."""
    config = read_ha_cf(ha_cf)
    nodes = _node_names(config)
    connectivity, attribute = _connectivity(config)
    fencing = import_fencing(config.stonith, nodes=list(nodes), names=NameRegistry())
    resources = import_resources(
        haresources, placement=Placement(list(nodes), attribute), names=Names()
    )
    cluster = _cluster(config, cluster_name, connectivity=connectivity, stonith=fencing.declared)
    drafts = [
        cluster,
        *(Draft(make("Node", node, {}), origin) for node, origin in nodes.items()),
        *fencing.drafts,
        *resources.drafts,
    ]
    validate(drafts)
    warnings = sorted(
        (*config.warnings, *fencing.warnings, *resources.warnings),
        key=lambda w: (w.origin.file != ha_cf.name, w.origin.line),
    )
    return ImportResult(tuple(drafts), tuple(warnings), _header(ha_cf, haresources, warnings))


# --- Cluster ---------------------------------------------------------------------------


def _cluster(
    config: HaCf, override: str | None, *, connectivity: dict[str, Any] | None, stonith: bool
) -> Draft:
    """The Cluster document, reported (if it does not validate) at ha.cf's last timing line."""
    spec: dict[str, Any] = {
        "timing": _timing(config),
        "autoFailback": _auto_failback(config),
        "stonith": {"enabled": stonith},
    }
    if not stonith:
        config.warn(
            Origin(config.source, 0),
            "no stonith_host or stonith line: stonith.enabled is false, so hactl cannot "
            "guarantee that a lost node's resources are stopped before they start elsewhere",
        )
    if connectivity is not None:
        spec["connectivity"] = connectivity
    origins = [
        config.settings[key].origin
        for key in ("keepalive", "warntime", "deadtime", "initdeadtime")
        if key in config.settings
    ]
    origin = max(origins, default=Origin(config.source, 0))
    return Draft(make("Cluster", _cluster_name(config, override), spec), origin)


def _cluster_name(config: HaCf, override: str | None) -> str:
    if override is not None:
        if not is_valid_name(override):
            raise UsageError(f"--name {override!r}: not a valid name (a DNS-1123 label)")
        return override
    given = config.settings.get("cluster")
    if given is None:
        return HEARTBEAT_CLUSTER_NAME
    if not is_valid_name(given.text):
        fail(given.origin, f"cluster {given.text!r}: not a valid name; use --name")
    return given.text


def _timing(config: HaCf) -> dict[str, str]:
    """The four timers as heartbeat ran them: given values, else heartbeat's defaults
    (keepalive 1s, deadtime 30s, warntime deadtime/2, initdead from deadtime)."""
    keepalive = _ms(config, "keepalive", default=HEARTBEAT_KEEPALIVE_MS)
    deadtime = _ms(config, "deadtime", default=HEARTBEAT_DEADTIME_MS)
    warntime = _ms(config, "warntime", default=deadtime // 2)
    initdead = _ms(config, "initdeadtime", default=_heartbeat_initdead(deadtime))
    return {
        "keepalive": str(Duration(keepalive)),
        "warntime": str(Duration(warntime)),
        "deadtime": str(Duration(deadtime)),
        "initdeadtime": str(Duration(initdead)),
    }


def _heartbeat_initdead(deadtime: int) -> int:
    if deadtime > 10_000:
        return deadtime
    return 12_000 if deadtime < 6000 else 2 * deadtime


def _ms(config: HaCf, key: str, *, default: int) -> int:
    value = config.settings.get(key)
    return default if value is None else parse_duration_ms(value)


def _auto_failback(config: HaCf) -> bool:
    """auto_failback on/off/legacy (heartbeat's default: legacy, which fails back)."""
    value = config.settings.get("auto_failback")
    nice = config.settings.get("nice_failback")
    if value is None and nice is not None:  # the obsolete spelling, inverted
        return not _boolean(nice, "nice_failback")
    if value is None:
        config.warn(
            Origin(config.source, 0),
            "auto_failback not set: heartbeat's default 'legacy' fails back, so "
            "autoFailback is true",
        )
        return True
    if value.text.lower() == "legacy":
        config.warn(value.origin, "auto_failback legacy: imported as autoFailback true")
        return True
    return _boolean(value, "auto_failback")


def _boolean(value: Value, directive: str) -> bool:
    word = value.text.lower()
    if word in _TRUE or word in _FALSE:
        return word in _TRUE
    fail(value.origin, f"{directive} {value.text!r}: use on or off")


# --- Nodes -----------------------------------------------------------------------------


def _node_names(config: HaCf) -> dict[str, Origin]:
    """Node names in lower case, as heartbeat compared them; each a valid hactl name."""
    nodes: dict[str, Origin] = {}
    for value in config.nodes:
        name = value.text.lower()
        if not is_valid_name(name):
            fail(value.origin, f"node {value.text!r}: not a valid hactl name (a DNS-1123 label)")
        if name in nodes:
            fail(value.origin, f"node {value.text!r} is declared twice (first at {nodes[name]})")
        if name != value.text:
            config.warn(
                value.origin, f"node {value.text!r} became {name!r} (heartbeat lowercased it)"
            )
        nodes[name] = value.origin
    if not nodes:
        fail(Origin(config.source, 0), "no node lines: declare the cluster's nodes")
    return nodes


# --- Connectivity (ping nodes, ipfail, pingd) ----------------------------------------------


@dataclass(frozen=True)
class _Pingd:
    attribute: str = CONNECTIVITY_ATTRIBUTE
    multiplier: int = CONNECTIVITY_MULTIPLIER
    dampen_ms: int | None = None


def _connectivity(config: HaCf) -> tuple[dict[str, Any] | None, str | None]:
    """The Cluster's connectivity block, and the attribute groups depend on (when
    ipfail or pingd acted on it)."""
    pingd, in_use = _connectivity_users(config)
    targets = [value.text for value in config.ping_targets]
    if not targets:
        if in_use is not None:
            config.warn(in_use, "ipfail/pingd without ping nodes: nothing to check, not imported")
        return None, None
    if in_use is None:
        config.warn(
            config.ping_targets[0].origin,
            "ping nodes without ipfail or pingd: connectivity is measured, but no resource "
            "depends on it",
        )
    deadping = _ms(
        config, "deadping", default=_ms(config, "deadtime", default=HEARTBEAT_DEADTIME_MS)
    )
    block = {
        "targets": list(dict.fromkeys(targets)),
        "interval": str(Duration(_ms(config, "keepalive", default=HEARTBEAT_KEEPALIVE_MS))),
        "attribute": pingd.attribute,
        "multiplier": pingd.multiplier,
        "dampen": str(Duration(pingd.dampen_ms or deadping)),
    }
    return block, (pingd.attribute if in_use is not None else None)


def _connectivity_users(config: HaCf) -> tuple[_Pingd, Origin | None]:
    """Which respawned helper acted on connectivity; every other helper is a warning."""
    pingd, in_use = _Pingd(), None
    for line in config.respawns:
        program = posixpath.basename(line.words[2])
        if program == "ipfail":
            in_use = line.origin
        elif program == "pingd":
            pingd, in_use = _pingd_options(config, line), line.origin
        else:
            config.warn(
                line.origin,
                f"respawn {program}: not imported: hactl runs no helper processes; "
                "declare it as a resource if it is still needed",
            )
    return pingd, in_use


def _pingd_options(config: HaCf, line: Line) -> _Pingd:
    """pingd's -a (attribute), -m (multiplier), -d (dampen) and -h (extra target)."""
    options: dict[str, Value] = {}
    ignored: list[str] = []
    tokens = list(line.tokens[3:])
    while tokens:
        token = tokens.pop(0)
        if token.text in ("-a", "-m", "-d", "-h") and tokens:
            options[token.text] = Value(tokens[0].text, tokens[0].origin)
            if token.text == "-h":
                config.ping_targets.append(options.pop("-h"))
            tokens.pop(0)
        else:
            ignored.append(token.text)
    if ignored:
        config.warn(line.origin, f"pingd options not imported: {' '.join(ignored)}")
    return _Pingd(
        attribute=_attribute(options.get("-a")),
        multiplier=_multiplier(options.get("-m")),
        dampen_ms=parse_duration_ms(options["-d"]) if "-d" in options else None,
    )


def _attribute(value: Value | None) -> str:
    if value is None:
        return CONNECTIVITY_ATTRIBUTE
    if re.fullmatch(ATTRIBUTE_NAME_PATTERN, value.text) is None:
        fail(value.origin, f"pingd -a {value.text!r}: not a valid attribute name")
    return value.text


def _multiplier(value: Value | None) -> int:
    if value is None:
        return CONNECTIVITY_MULTIPLIER
    if not value.text.isdigit() or not 1 <= int(value.text) <= 1_000_000:
        fail(value.origin, f"pingd -m {value.text!r}: a multiplier is a whole number from 1")
    return int(value.text)


# --- Output ----------------------------------------------------------------------------


def _header(
    ha_cf: SourceText, haresources: SourceText, warnings: Sequence[Diagnostic]
) -> tuple[str, ...]:
    lines = [
        "hactl manifests imported by `hactl import heartbeat` from a heartbeat v1 configuration:",
        f"  ha.cf:       {ha_cf.name}",
        f"  haresources: {haresources.name}",
        "Review them before applying; docs/import-heartbeat.md says what maps to what.",
    ]
    if warnings:
        lines.append(f"Not carried over or changed ({len(warnings)} warnings):")
        lines.extend(f"  {warning}" for warning in warnings)
    return tuple(lines)
