"""What an `etcd://` store needs before it talks to anyone: endpoints, deadline, TLS, auth.

Everything here is checked when the store is opened, before any network I/O, so a
mistake (a bad URL, a key file others can read, a password given twice) is one usage
error (exit 2) instead of a timeout (exit 3) later:

- `etcd://host:port,host:port?timeout=3s` — endpoints in the order they are tried
  (port 2379 when left out, `[v6 address]:port` for IPv6) and the deadline of every call.
- `--cacert/--cert/--key` turn TLS on. The private key is refused when its mode lets
  group or others in, as heartbeat refused an authkeys file that was not 0600: a key
  others can read is a key others have.
- `--user NAME` authenticates; the password comes from the file `$HACTL_STORE_PASSWORD_FILE`
  (same mode rule) or from `$HACTL_STORE_PASSWORD`, never from the command line, where
  every user of the machine could read it in `ps`.
"""

from __future__ import annotations

import os
import stat
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.errors import UsageError
from reconciler.model.values import Duration

__all__ = ["DEFAULT_TIMEOUT", "EtcdConfig", "check_private", "etcd_config"]

DEFAULT_TIMEOUT = 5.0
"""Seconds every etcd call may take, retries included (a few seconds: a dead store must
give exit 3 quickly, yet a leader election in a healthy cluster must fit)."""
_DEFAULT_PORT = 2379
_MAX_TIMEOUT = 600.0


@dataclass(frozen=True)
class EtcdConfig:
    """A resolved etcd store configuration. Secrets are kept out of repr (and so out of logs)."""

    endpoints: tuple[str, ...]
    """`host:port` (IPv6 hosts in brackets), tried in this order."""
    timeout: float = DEFAULT_TIMEOUT
    tls: bool = False
    ca: bytes | None = field(default=None, repr=False)
    cert_chain: bytes | None = field(default=None, repr=False)
    private_key: bytes | None = field(default=None, repr=False)
    user: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return "etcd://" + ",".join(self.endpoints)


def etcd_config(
    location: str,
    *,
    cacert: str | None = None,
    cert: str | None = None,
    key: str | None = None,
    user: str | None = None,
    env: Mapping[str, str] | None = None,
) -> EtcdConfig:
    """The configuration for `etcd://{location}` with the CLI's TLS/auth options.

    Raises UsageError, in one line, for anything it cannot use."""
    env = os.environ if env is None else env
    hosts, _, query = location.partition("?")
    endpoints = tuple(_endpoint(part) for part in hosts.rstrip("/").split(","))
    timeout = _timeout(query)
    if (cert is None) != (key is None):
        raise UsageError("--cert and --key go together: the client certificate and its key")
    if key is not None:
        check_private(Path(key), "--key")
    return EtcdConfig(
        endpoints=endpoints,
        timeout=timeout,
        tls=any(option is not None for option in (cacert, cert)),
        ca=_read(cacert, "--cacert"),
        cert_chain=_read(cert, "--cert"),
        private_key=_read(key, "--key"),
        user=user,
        password=_password(env) if user is not None else None,
    )


def check_private(path: Path, what: str) -> None:
    """Refuse a secret file that group or others may access (heartbeat's authkeys rule)."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(mode):
        raise UsageError(f"{what} {path} is not a regular file")
    if mode & 0o077:
        raise UsageError(
            f"{what} {path} is accessible by group or others (mode {stat.S_IMODE(mode):04o});"
            f" run chmod 600 {path}, as heartbeat required of authkeys"
        )


def _endpoint(text: str) -> str:
    part = text.strip()
    if not part:
        raise UsageError("store URL etcd://… has an empty endpoint; use etcd://host:2379,…")
    if "/" in part or "@" in part:
        raise UsageError(f"etcd endpoint {part!r} must be host:port (no paths, no user@)")
    if part.startswith("["):  # [IPv6]:port
        host, bracket, rest = part[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise UsageError(f"etcd endpoint {part!r}: write IPv6 hosts as [::1]:2379")
        host, port = f"[{host}]", rest[1:] if rest else str(_DEFAULT_PORT)
    else:
        host, _, port = part.partition(":")
        port = port or str(_DEFAULT_PORT)
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UsageError(f"etcd endpoint {part!r} must be host:port with a port 1-65535")
    return f"{host}:{int(port)}"


def _timeout(query: str) -> float:
    try:
        options = urllib.parse.parse_qs(query, keep_blank_values=True, strict_parsing=bool(query))
    except ValueError:
        raise UsageError(f"store URL options {query!r} must be name=value pairs") from None
    unknown = sorted(set(options) - {"timeout"})
    if unknown:
        raise UsageError(f"store URL option {unknown[0]!r} is unknown; etcd URLs take ?timeout=")
    if "timeout" not in options:
        return DEFAULT_TIMEOUT
    text = options["timeout"][-1]
    try:
        seconds = Duration.parse(text).seconds
    except ValueError:
        seconds = 0.0
    if not 0 < seconds <= _MAX_TIMEOUT:
        raise UsageError(f"store URL timeout={text!r} must be a duration like 2s, at most 10m")
    return seconds


def _read(path: str | None, what: str) -> bytes | None:
    if path is None:
        return None
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"{what} {path}: {exc.strerror or exc}") from None


def _password(env: Mapping[str, str]) -> str:
    file, text = env.get("HACTL_STORE_PASSWORD_FILE"), env.get("HACTL_STORE_PASSWORD")
    if file and text is not None:
        raise UsageError("set HACTL_STORE_PASSWORD_FILE or HACTL_STORE_PASSWORD, not both")
    if file:
        check_private(Path(file), "HACTL_STORE_PASSWORD_FILE")
        raw = _read(file, "HACTL_STORE_PASSWORD_FILE") or b""
        try:
            return raw.decode().rstrip("\r\n")
        except UnicodeDecodeError:
            raise UsageError(f"HACTL_STORE_PASSWORD_FILE {file} is not UTF-8 text") from None
    if text is None:
        raise UsageError(
            "--user needs a password: put it in a file named by HACTL_STORE_PASSWORD_FILE"
            " (mode 0600) or in HACTL_STORE_PASSWORD"
        )
    return text
