"""ha.cf read the way heartbeat read it: directives, their words, and what was ignored.

heartbeat's ha.cf is `directive word word …` per line, `#` starting a comment, node
names compared in lower case, and a single-valued directive given twice keeping its
last value. This module only collects what ha.cf says (no defaults, no mapping), and
turns every directive hactl has no use for into a warning naming its line, so that
nothing is dropped silently. Mapping to manifests is heartbeat.py's job.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from reconciler.importers.source import Diagnostic, Line, Origin, SourceText, fail, logical_lines

TIMING_DIRECTIVES: Mapping[str, str] = {
    "keepalive": "keepalive",
    "warntime": "warntime",
    "deadtime": "deadtime",
    "initdead": "initdeadtime",
    "initdeadtime": "initdeadtime",
    "deadping": "deadping",
}
"""ha.cf timing directives by the name used here (heartbeat spells it `initdead`)."""

MEDIA = frozenset({"serial", "baud", "bcast", "mcast", "mcast6", "ucast", "udpport", "udp"})

_LOGGING = "hactl logs through its own structured log"
_MESSAGING = "a setting of heartbeat's messaging layer; hactl nodes talk through the store"
_CRM = "a heartbeat 2 CRM setting; hactl has its own scheduler"
NOT_IMPORTED: Mapping[str, str] = {
    **dict.fromkeys(
        ("logfile", "debugfile", "logfacility", "use_logd", "debug", "conn_logd_time"), _LOGGING
    ),
    **dict.fromkeys(
        (
            "hopfudge",
            "msgfmt",
            "compression",
            "compression_threshold",
            "traditional_compression",
            "max_rexmit_delay",
            "hbgenmethod",
            "uuidfrom",
            "badpack_warn",
            "memreserve",
            "realtime",
            "rtprio",
            "coredumps",
            "coreroot",
            "normalpoll",
            "register_to_apphbd",
            "quorum_server",
        ),
        _MESSAGING,
    ),
    **dict.fromkeys(
        ("crm", "record_config_changes", "record_pengine_inputs", "enable_config_writes"), _CRM
    ),
    "apiauth": "heartbeat client API permissions; hactl has no such API",
    "autojoin": "hactl nodes are declared as Node objects",
    "env": "environment for respawned helpers, which are not imported",
    "watchdog": "hactl's watchdog fencing is stonith.watchdogTimeout in the Cluster; set it "
    "by hand",
}

_DURATION = re.compile(r"^(\d+(?:\.\d*)?|\.\d+)(ms|msec|us|usec|s)?$", re.IGNORECASE)
_UNIT_DIVISOR = {"": 0.001, "s": 0.001, "ms": 1.0, "msec": 1.0, "us": 1000.0, "usec": 1000.0}


@dataclass(frozen=True)
class Value:
    text: str
    origin: Origin


@dataclass
class HaCf:
    """What ha.cf declares, in file order, before any mapping."""

    source: str
    settings: dict[str, Value] = field(default_factory=dict)
    nodes: list[Value] = field(default_factory=list)
    ping_targets: list[Value] = field(default_factory=list)
    respawns: list[Line] = field(default_factory=list)
    stonith: list[Line] = field(default_factory=list)
    warnings: list[Diagnostic] = field(default_factory=list)

    def warn(self, origin: Origin, message: str) -> None:
        self.warnings.append(Diagnostic(origin, message))


def read_ha_cf(source: SourceText) -> HaCf:
    """Every directive of ha.cf collected, or UsageError at the first malformed line."""
    config = HaCf(source.name)
    for line in logical_lines(source, continuations=False):
        directive = line.words[0]
        handler = _HANDLERS.get(directive)
        if handler is not None:
            handler(config, line)
        elif directive in MEDIA:
            config.warn(
                line.origin,
                f"{directive}: a heartbeat communication medium, not imported: "
                "hactl nodes talk through the store",
            )
        elif directive in NOT_IMPORTED:
            config.warn(line.origin, f"{directive}: not imported: {NOT_IMPORTED[directive]}")
        else:
            config.warn(line.origin, f"{directive}: unknown directive, ignored")
    return config


def parse_duration_ms(value: Value) -> int:
    """A heartbeat time (`2`, `0.5`, `200ms`, `500000us`; `1s` as hactl writes it) in
    milliseconds, rounded the way heartbeat rounded it."""
    match = _DURATION.match(value.text)
    if match is None:
        fail(value.origin, f"{value.text!r} is not a time: use seconds (2, 0.5) or ms (200ms)")
    number, unit = match.groups()
    milliseconds = int(float(number) / _UNIT_DIVISOR[(unit or "").lower()] + 0.5)
    if milliseconds <= 0:
        fail(value.origin, f"{value.text!r}: a time must be at least 1ms")
    return milliseconds


def _single(config: HaCf, line: Line, *, key: str) -> None:
    """A directive with exactly one value; given twice, the later one counts."""
    if len(line.words) != 2:
        fail(line.origin, f"{line.words[0]} takes exactly one value")
    if key in config.settings:
        earlier = config.settings[key].origin
        config.warn(
            line.origin, f"{line.words[0]} given again (first at {earlier}); this one counts"
        )
    config.settings[key] = Value(line.words[1], line.tokens[1].origin)


def _nodes(config: HaCf, line: Line) -> None:
    if len(line.words) < 2:
        fail(line.origin, "node needs at least one node name")
    config.nodes.extend(Value(token.text, token.origin) for token in line.tokens[1:])


def _ping(config: HaCf, line: Line) -> None:
    if len(line.words) < 2:
        fail(line.origin, "ping needs at least one address")
    config.ping_targets.extend(Value(token.text, token.origin) for token in line.tokens[1:])


def _ping_group(config: HaCf, line: Line) -> None:
    if len(line.words) < 3:
        fail(line.origin, "ping_group needs a group name and at least one address")
    config.ping_targets.extend(Value(token.text, token.origin) for token in line.tokens[2:])
    config.warn(
        line.origin,
        f"ping_group {line.words[1]}: its addresses became separate connectivity targets "
        "(heartbeat counted the group once, reachable through any member)",
    )


def _respawn(config: HaCf, line: Line) -> None:
    if len(line.words) < 3:
        fail(line.origin, "respawn needs a user and a command")
    config.respawns.append(line)


def _stonith(config: HaCf, line: Line) -> None:
    config.stonith.append(line)


def _setting(key: str) -> Callable[[HaCf, Line], None]:
    return lambda config, line: _single(config, line, key=key)


def _timing(key: str) -> Callable[[HaCf, Line], None]:
    """A time, checked where it is read so that errors come in file order."""

    def handle(config: HaCf, line: Line) -> None:
        _single(config, line, key=key)
        parse_duration_ms(config.settings[key])

    return handle


_HANDLERS: Mapping[str, Callable[[HaCf, Line], None]] = {
    **{directive: _timing(key) for directive, key in TIMING_DIRECTIVES.items()},
    "auto_failback": _setting("auto_failback"),
    "nice_failback": _setting("nice_failback"),
    "cluster": _setting("cluster"),
    "node": _nodes,
    "ping": _ping,
    "ping_group": _ping_group,
    "respawn": _respawn,
    "stonith": _stonith,
    "stonith_host": _stonith,
}
