"""One haresources entry (`name::arg::arg`, or a bare IP address) as a resource agent.

heartbeat ran `/etc/ha.d/resource.d/NAME arg… start` when such a script existed and
`/etc/init.d/NAME start` otherwise; the resource.d scripts of heartbeat 2 were thin
wrappers that handed their positional arguments to an OCF agent. This module knows
those wrappers' argument orders, so `Filesystem::/dev/sda1::/data::ext3` becomes
`ocf:heartbeat:Filesystem` with named params, and treats every other name as an init
script. DRBD disks are recognised here and turned into a promotable clone by the
caller. Nothing is looked up on this machine: the mapping is a table.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass

from reconciler.importers.source import Origin, Token, fail

BARE_IP = re.compile(r"^\d+\.\d+\.\d+\.\d+")
"""heartbeat's own test: an entry that starts like an IPv4 address is `IPaddr::entry`."""

INIT_SCRIPT = re.compile(r"^[A-Za-z0-9][-A-Za-z0-9_.@]{0,127}$")
DRBD_NAMES = frozenset({"drbddisk", "datadisk"})
IP_NAMES = frozenset({"IPaddr", "IPaddr2"})
IP_PARAMS = ("ip", "cidr_netmask", "nic", "broadcast")


@dataclass(frozen=True)
class OcfWrapper:
    """A heartbeat resource.d script that wraps an OCF agent: its argument order."""

    agent: str
    params: tuple[str, ...]
    required: int
    role: str
    init_script_when_bare: bool = False
    """A bare name (no `::` arguments) means the distribution's init script instead."""


OCF_WRAPPERS: Mapping[str, OcfWrapper] = {
    "Filesystem": OcfWrapper(
        "ocf:heartbeat:Filesystem", ("device", "directory", "fstype", "options"), 2, "fs"
    ),
    "MailTo": OcfWrapper("ocf:heartbeat:MailTo", ("email", "subject"), 1, "mailto"),
    "IPsrcaddr": OcfWrapper("ocf:heartbeat:IPsrcaddr", ("ipaddress",), 1, "srcaddr"),
    "Delay": OcfWrapper("ocf:heartbeat:Delay", ("startdelay", "stopdelay"), 1, "delay"),
    "LVM": OcfWrapper("ocf:heartbeat:LVM", ("volgrpname",), 1, "lvm"),
    "Raid1": OcfWrapper("ocf:heartbeat:Raid1", ("raidconf", "raiddev"), 2, "raid"),
    "portblock": OcfWrapper(
        "ocf:heartbeat:portblock", ("protocol", "portno", "action"), 3, "portblock"
    ),
    "apache": OcfWrapper(
        "ocf:heartbeat:apache", ("configfile",), 1, "apache", init_script_when_bare=True
    ),
    "Xinetd": OcfWrapper(
        "ocf:heartbeat:Xinetd", ("service",), 1, "xinetd", init_script_when_bare=True
    ),
}


@dataclass(frozen=True)
class Agent:
    """What one haresources entry runs.

    `role` names the resource inside its group (`ip`, `fs`, …); a `service` (an init
    script or a daemon agent) may also name the group; `drbd` marks a DRBD disk.
    """

    agent: str
    params: dict[str, str]
    role: str
    service: bool = False
    drbd: bool = False


@dataclass(frozen=True)
class Mapped:
    agent: Agent
    warning: str | None = None


def map_entry(token: Token) -> Mapped:
    """The agent for one haresources entry, or UsageError at its line."""
    text, origin = token.text, token.origin
    if BARE_IP.match(text):
        text = "IPaddr::" + text
    name, *args = text.split("::")
    if not name:
        fail(origin, f"{token.text!r}: a resource needs a name before its '::' arguments")
    if name in IP_NAMES:
        return Mapped(_ip_address(origin, name, args=args))
    if name in DRBD_NAMES:
        return Mapped(_drbd(origin, name, args=args))
    wrapper = OCF_WRAPPERS.get(name)
    if wrapper is not None and (args or not wrapper.init_script_when_bare):
        return Mapped(_wrapped(origin, name, wrapper=wrapper, args=args))
    return _init_script(origin, name, args=args)


def _ip_address(origin: Origin, name: str, *, args: list[str]) -> Agent:
    """`IPaddr::ip[/mask[/nic[/broadcast]]]` (and IPaddr2): ocf:heartbeat:IPaddr2."""
    if len(args) != 1 or not args[0]:
        fail(origin, f"{name} takes one argument: ip[/netmask[/interface[/broadcast]]]")
    fields = args[0].split("/")
    if len(fields) > len(IP_PARAMS):
        fail(origin, f"{args[0]!r}: too many '/' fields for ip/netmask/interface/broadcast")
    try:
        ipaddress.IPv4Address(fields[0])
    except ValueError:
        fail(origin, f"{fields[0]!r} is not an IPv4 address")
    params = {key: value for key, value in zip(IP_PARAMS, fields, strict=False) if value}
    return Agent("ocf:heartbeat:IPaddr2", params, role="ip")


def _drbd(origin: Origin, name: str, *, args: list[str]) -> Agent:
    """`drbddisk::r0` / `datadisk::r0`: the DRBD resource made primary on this node."""
    if len(args) != 1 or not args[0]:
        fail(
            origin,
            f"{name} needs one DRBD resource name ({name}::r0); heartbeat's default "
            "'all' has no single-resource equivalent",
        )
    return Agent("ocf:linbit:drbd", {"drbd_resource": args[0]}, role="drbd", drbd=True)


def _wrapped(origin: Origin, name: str, *, wrapper: OcfWrapper, args: list[str]) -> Agent:
    """A resource.d wrapper's positional arguments as its OCF agent's params."""
    if len(args) > len(wrapper.params):
        fail(
            origin, f"{name} takes at most {len(wrapper.params)} arguments: {_usage(name, wrapper)}"
        )
    given = dict(zip(wrapper.params, args, strict=False))
    missing = [key for key in wrapper.params[: wrapper.required] if not given.get(key)]
    if missing:
        fail(origin, f"{name} needs {', '.join(missing)}: {_usage(name, wrapper)}")
    params = {key: value for key, value in given.items() if value}
    return Agent(wrapper.agent, params, role=wrapper.role, service=wrapper.init_script_when_bare)


def _usage(name: str, wrapper: OcfWrapper) -> str:
    return "::".join([name, *wrapper.params])


def _init_script(origin: Origin, name: str, *, args: list[str]) -> Mapped:
    """Any other name: the init script /etc/init.d/NAME, as heartbeat fell back to."""
    if not INIT_SCRIPT.fullmatch(name):
        fail(origin, f"{name!r} is not a usable init script name")
    agent = Agent(f"lsb:{name}", {}, role=name, service=True)
    if not args:
        return Mapped(agent)
    dropped = "::".join(args)
    return Mapped(
        agent,
        f"{name}::{dropped}: no OCF agent is known for {name!r}, so it became the init "
        f"script lsb:{name}, which takes no arguments ({dropped!r} was dropped)",
    )
