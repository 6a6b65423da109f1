"""Reachability probes for connectivity checks: ICMP echo where permitted, else TCP.

ICMP first, as heartbeat's ping nodes did: an unprivileged ICMP datagram socket
(allowed by net.ipv4.ping_group_range), else a raw socket (CAP_NET_RAW). Where neither
is permitted, or the target is not an IPv4 address, a TCP connect to the declared
port: an accepted *or refused* connection both prove the path to the host works —
what ipfail measures is the network, not a service. A target that cannot be probed
at all counts as unreachable, and the caller logs it once.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import itertools
import os
import socket
import struct
import time

ICMP_ECHO_REQUEST = 8
ICMP_ECHO_REPLY = 0
_sequence = itertools.count(1)


class CannotProbe(Exception):
    """No permitted way to probe this target (no ICMP, no port)."""


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(ident: int, sequence: int, payload: bytes = b"hactl") -> bytes:
    header = struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, 0, ident, sequence)
    checksum = _checksum(header + payload)
    return struct.pack("!BBHHH", ICMP_ECHO_REQUEST, 0, checksum, ident, sequence) + payload


def _icmp_socket() -> tuple[socket.socket, bool] | None:
    """An ICMP socket and whether it is raw (replies then carry the IP header)."""
    for kind, raw in ((socket.SOCK_DGRAM, False), (socket.SOCK_RAW, True)):
        try:
            sock = socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP)
        except PermissionError:
            continue
        sock.setblocking(False)
        return sock, raw
    return None


def icmp_permitted() -> bool:
    found = _icmp_socket()
    if found is None:
        return False
    found[0].close()
    return True


async def icmp_echo(address: str, *, within: float) -> bool:
    """One echo request; True when the matching reply arrives within `within` seconds."""
    found = _icmp_socket()
    if found is None:
        raise CannotProbe("ICMP is not permitted here")
    sock, raw = found
    loop = asyncio.get_running_loop()
    ident, sequence = os.getpid() & 0xFFFF, next(_sequence) & 0xFFFF
    deadline = time.monotonic() + within
    try:
        await loop.sock_sendto(sock, echo_request(ident, sequence), (address, 0))
        while (left := deadline - time.monotonic()) > 0:
            data, (source, _) = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), left)
            if raw:
                data = data[(data[0] & 0x0F) * 4 :]
            if len(data) < 8 or source != address:
                continue
            kind, _, _, reply_ident, reply_sequence = struct.unpack("!BBHHH", data[:8])
            # A datagram socket's id is the kernel's choice; its replies are ours alone.
            mine = reply_sequence == sequence and (not raw or reply_ident == ident)
            if kind == ICMP_ECHO_REPLY and mine:
                return True
    except (TimeoutError, OSError):
        return False
    finally:
        sock.close()
    return False


async def tcp_connect(host: str, port: int, *, within: float) -> bool:
    """True when the host answers a TCP connect (accepted or refused) in time."""
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(host, port), within)
    except ConnectionRefusedError:
        return True
    except (TimeoutError, OSError):
        return False
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()
    return True


def _ipv4(target: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(target), ipaddress.IPv4Address)
    except ValueError:
        return False


async def probe(target: str, *, port: int | None, within: float, icmp: bool) -> bool:
    """Is `target` reachable? ICMP when `icmp` and it is an IPv4 address, else TCP."""
    if icmp and _ipv4(target):
        return await icmp_echo(target, within=within)
    if port is None:
        raise CannotProbe(f"{target}: ICMP not possible and no port declared for a TCP probe")
    return await tcp_connect(target, port, within=within)
