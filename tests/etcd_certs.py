"""A throw-away CA with server and client certificates, made by the openssl CLI.

`cryptography` is not a dependency of hactl; openssl is on every Debian machine. Keys
are P-256 (fast to make) and written 0600, as hactl demands of key files.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Pki", "make_pki"]


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path
    """A CA that signed nothing here: trusting it must not be enough."""


def make_pki(directory: Path) -> Pki:
    directory.mkdir(parents=True, exist_ok=True)
    ca = _self_signed(directory, "ca")
    other_ca = _self_signed(directory, "other-ca")
    server = _signed(
        directory, "server", ca, "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth"
    )
    client = _signed(directory, "client", ca, "extendedKeyUsage=clientAuth")
    return Pki(ca, server, directory / "server.key", client, directory / "client.key", other_ca)


def _key(directory: Path, name: str) -> Path:
    key = directory / f"{name}.key"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key)
    key.chmod(0o600)
    return key


def _self_signed(directory: Path, name: str) -> Path:
    cert = directory / f"{name}.crt"
    key = _key(directory, name)
    _openssl(
        "req", "-x509", "-new", "-key", key, "-out", cert, "-days", "2",
        "-subj", f"/CN=hactl test {name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
    )  # fmt: skip
    return cert


def _signed(directory: Path, name: str, ca: Path, extensions: str) -> Path:
    key = _key(directory, name)
    request, cert = directory / f"{name}.csr", directory / f"{name}.crt"
    extfile = directory / f"{name}.ext"
    extfile.write_text(extensions + "\n")
    _openssl("req", "-new", "-key", key, "-out", request, "-subj", f"/CN={name}")
    _openssl(
        "x509", "-req", "-in", request, "-CA", ca, "-CAkey", ca.with_suffix(".key"),
        "-CAcreateserial", "-out", cert, "-days", "2", "-extfile", extfile,
    )  # fmt: skip
    return cert


def _openssl(*args: str | Path) -> None:
    subprocess.run(["openssl", *map(str, args)], check=True, capture_output=True, timeout=30)
