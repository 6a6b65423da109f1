"""The CLI on etcd: the declarative commands unchanged, `hactl store status`, TLS/auth options,
and exit code 3 with one line, within the deadline, when the store cannot be reached."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.cli import test_declare
from tests.cli.conftest import Hactl
from tests.etcd_cluster import free_ports, require_etcd, shared_member, wipe

ROOT = Path(__file__).resolve().parents[2]
LINT = ("warning:", "cluster/")
"""stderr lines of apply/diff's lints of the manifests, printed before the store is used."""


@pytest.fixture
def etcd_hactl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hactl:
    """`hactl --store etcd://…` on the session's etcd member, emptied for this test."""
    require_etcd()
    member = shared_member()
    asyncio.run(wipe(member))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HACTL_STORE", raising=False)
    return Hactl(store_url=member.url(), workdir=tmp_path)


@pytest.mark.etcd
class TestDeclarativeCommandsOnEtcd(
    test_declare.TestApplyAndDiff,
    test_declare.TestGetAndDelete,
    test_declare.TestHistoryAndRollback,
):
    """apply, diff, get, delete, history and rollback behave on etcd exactly as on SQLite:
    the very same tests, run with `--store etcd://…`."""

    @pytest.fixture
    def hactl(self, etcd_hactl: Hactl) -> Hactl:
        return etcd_hactl


class TestStoreStatus:
    """`hactl store status` names the store, its revision and, for etcd, members and leader."""

    def test_sqlite(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(test_declare.cluster_dir(hactl)))
        result = hactl("store", "status", "-o", "json")
        assert result.exit_code == 0, result.stderr
        body = json.loads(result.stdout)
        assert (body["backend"], body["revision"]) == ("sqlite", hactl.revision())
        assert body["details"]["file"] == str(hactl.workdir / "store.db")
        assert int(body["details"]["size"]) > 0
        table = hactl("store", "status")
        assert "sqlite" in table.stdout and "size" in table.stdout

    @pytest.mark.etcd
    def test_etcd(self, etcd_hactl: Hactl) -> None:
        result = etcd_hactl("store", "status", "-o", "json")
        assert result.exit_code == 0, result.stderr
        body = json.loads(result.stdout)
        endpoint = shared_member().endpoints[0]
        assert (body["backend"], body["endpoint"], body["leader"]) == ("etcd", endpoint, "m0")
        assert body["revision"] == etcd_hactl.revision()
        assert [m["name"] for m in body["members"]] == ["m0"]
        assert body["members"][0]["client_urls"] == f"http://{endpoint}"
        table = etcd_hactl("store", "status").stdout
        assert "leader" in table and "m0" in table and endpoint in table


class TestUnreachableStore:
    """Every command that uses the store exits 3 with one line, within the deadline."""

    @pytest.mark.parametrize(
        "command",
        [
            ["get", "nodes"],
            ["apply", "-f", "cluster"],
            ["diff", "-f", "cluster"],
            ["delete", "resource", "web"],
            ["history"],
            ["rollback", "1"],
            ["status"],
            ["store", "status"],
        ],
    )
    def test_exit_3_one_line(self, hactl: Hactl, command: list[str]) -> None:
        test_declare.cluster_dir(hactl)
        hactl.store_url = f"etcd://127.0.0.1:{free_ports(1)[0]}?timeout=1s"
        started = time.monotonic()
        result = hactl(*command)
        assert result.exit_code == 3, result.output
        assert time.monotonic() - started < 3.0
        [error] = [line for line in result.stderr.splitlines() if not line.startswith(LINT)]
        assert error.startswith("error: store etcd://") and "Connection refused" in error

    def test_a_real_process_with_the_default_deadline(self, tmp_path: Path) -> None:
        url = f"etcd://127.0.0.1:{free_ports(1)[0]}"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "--store", url, "get", "nodes"],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 3
        assert done.stderr.count("\n") == 1 and "within 5s" in done.stderr
        assert time.monotonic() - started < 5.0 + 5.0  # the deadline plus interpreter start


class TestCredentialOptions:
    """--cacert/--cert/--key/--user belong to etcd; their mistakes are usage errors."""

    def test_tls_options_on_sqlite_are_refused(self, hactl: Hactl, tmp_path: Path) -> None:
        result = hactl("--cacert", str(tmp_path / "ca.crt"), "get", "nodes")
        assert result.exit_code == 2
        assert (
            result.stderr
            == f"error: --cacert is for etcd:// stores; '{hactl.store_url}' is not one\n"
        )

    def test_a_key_file_others_can_read_exits_2(self, hactl: Hactl, tmp_path: Path) -> None:
        for name in ("client.crt", "client.key"):
            (tmp_path / name).write_text("not really\n")
        (tmp_path / "client.key").chmod(0o644)
        hactl.store_url = "etcd://127.0.0.1:1"
        result = hactl("--cert", "client.crt", "--key", "client.key", "get", "nodes")
        assert result.exit_code == 2
        assert result.stderr.count("\n") == 1 and "chmod 600" in result.stderr
