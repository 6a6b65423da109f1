"""Reaching etcd: TLS with certificates made here, users that may only read, secret files
others could read, endpoints that fail, and stores that cannot be reached at all."""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.store import LeaseLost, Store, StoreUnavailable
from reconciler.store.etcd import EtcdStore
from reconciler.store.etcd_conn import StoreAccessDenied
from reconciler.store.etcd_grpc import grpc, rpc
from reconciler.store.url import open_store
from tests.cli.conftest import Hactl
from tests.cli.test_declare import cluster_dir
from tests.etcd_certs import Pki, make_pki
from tests.etcd_cluster import EtcdCluster, TlsFiles, free_ports, require_etcd, shared_member
from tests.store.test_contract import take

pytestmark = pytest.mark.etcd

ROOT_PASSWORD, READER_PASSWORD = "root-Secret-1", "reader-Secret-2"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tls_cluster(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    require_etcd()
    files = TlsFiles(ca=pki.ca, cert=pki.server_cert, key=pki.server_key)
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd-tls"), tls=files)
    cluster.start()
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
def auth_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """A member with users `root` (everything) and `reader` (may read every key)."""
    require_etcd()
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd-auth"))
    cluster.start()
    try:
        asyncio.run(enable_auth(cluster.endpoints[0]))
        yield cluster
    finally:
        cluster.stop()


async def enable_auth(endpoint: str) -> None:
    async with grpc.aio.insecure_channel(endpoint) as channel:
        auth = rpc.AuthStub(channel)
        read_all = rpc.Permission(permType=rpc.Permission.READ, key=b"\0", range_end=b"\0")
        for user, password in (("root", ROOT_PASSWORD), ("reader", READER_PASSWORD)):
            await auth.RoleAdd(rpc.AuthRoleAddRequest(name=user), timeout=5)
            await auth.UserAdd(rpc.AuthUserAddRequest(name=user, password=password), timeout=5)
            await auth.UserGrantRole(rpc.AuthUserGrantRoleRequest(user=user, role=user), timeout=5)
        grant = rpc.AuthRoleGrantPermissionRequest(name="reader", perm=read_all)
        await auth.RoleGrantPermission(grant, timeout=5)
        await auth.AuthEnable(rpc.AuthEnableRequest(), timeout=5)


def closed_port() -> int:
    """A loopback port nothing listens on (the kernel just handed it out)."""
    return free_ports(1)[0]


def copy_with_mode(source: Path, directory: Path, mode: int) -> str:
    target = directory / f"copy-{mode:o}-{source.name}"
    shutil.copyfile(source, target)
    target.chmod(mode)
    return str(target)


async def works(store: Store) -> None:
    """A write, a read, a watch and a lease: the store is usable end to end."""
    try:
        revision = await store.put("/t/k", b"v")
        assert (await store.get("/t/k")).value == b"v"  # type: ignore[union-attr]
        events = store.watch("/t/", start_revision=revision)
        [event] = await take(events, 1)
        await events.aclose()  # type: ignore[attr-defined]
        assert event.revision == revision
        lease = await store.grant_lease(5)
        await store.revoke_lease(lease)
        with pytest.raises(LeaseLost):
            await store.refresh_lease(lease)
    finally:
        await store.close()


class TestTls:
    """With --cacert/--cert/--key the store talks TLS; wrong or missing trust fails within
    the deadline; a private key others can read is refused before anything is sent."""

    async def test_client_certificate_and_ca_work(self, tls_cluster: EtcdCluster, pki: Pki) -> None:
        store = open_store(
            tls_cluster.url(),
            cacert=str(pki.ca),
            cert=str(pki.client_cert),
            key=str(pki.client_key),
        )
        assert isinstance(store, EtcdStore)
        assert (await store.status()).details["tls"] == "true"
        await works(store)

    @pytest.mark.parametrize(
        "options",
        [
            pytest.param({"cacert": "ca"}, id="no-client-certificate"),
            pytest.param({"cacert": "other_ca", "cert": "cert", "key": "key"}, id="untrusted-ca"),
            pytest.param({}, id="plaintext"),
        ],
    )
    async def test_without_trust_the_store_is_unavailable_within_the_deadline(
        self, tls_cluster: EtcdCluster, pki: Pki, options: dict[str, str]
    ) -> None:
        files = {"ca": pki.ca, "other_ca": pki.other_ca, "cert": pki.client_cert}
        files["key"] = pki.client_key
        chosen = {name: str(files[value]) for name, value in options.items()}
        store = open_store(tls_cluster.url(timeout="1s"), **chosen)
        started = time.monotonic()
        with pytest.raises(StoreUnavailable) as raised:
            await store.get("/k")
        await store.close()
        assert time.monotonic() - started < 3.0
        assert "\n" not in str(raised.value)

    @pytest.mark.parametrize("mode", [0o640, 0o604, 0o660])
    def test_a_key_file_others_can_read_is_refused(
        self, pki: Pki, tmp_path: Path, mode: int
    ) -> None:
        key = copy_with_mode(pki.client_key, tmp_path, mode)
        with pytest.raises(UsageError, match="chmod 600") as raised:
            open_store("etcd://127.0.0.1:1", cert=str(pki.client_cert), key=key)
        assert f"mode {mode:04o}" in str(raised.value) and "\n" not in str(raised.value)

    def test_the_cli_passes_the_tls_options(
        self, tls_cluster: EtcdCluster, pki: Pki, tmp_path: Path
    ) -> None:
        hactl = Hactl(store_url=tls_cluster.url(), workdir=tmp_path)
        files = ["--cacert", str(pki.ca), "--cert", str(pki.client_cert)]
        result = hactl(*files, "--key", str(pki.client_key), "store", "status", "-o", "json")
        assert result.exit_code == 0, result.stderr
        assert json.loads(result.stdout)["details"]["tls"] == "true"

    def test_cert_and_key_go_together(self, pki: Pki) -> None:
        with pytest.raises(UsageError, match="go together"):
            open_store("etcd://127.0.0.1:1", cert=str(pki.client_cert))


class TestAuth:
    """--user authenticates with a password from the environment or a private file; a
    user that may only read gets a clear refusal (exit code 2) when it writes."""

    def store(self, cluster: EtcdCluster, user: str | None, **env: str) -> Store:
        return open_store(cluster.url(timeout="2s"), user=user, env=env)

    async def test_a_reader_reads_and_may_not_write(self, auth_cluster: EtcdCluster) -> None:
        root = self.store(auth_cluster, "root", HACTL_STORE_PASSWORD=ROOT_PASSWORD)
        await root.put("/data/k", b"v")
        await root.close()
        reader = self.store(auth_cluster, "reader", HACTL_STORE_PASSWORD=READER_PASSWORD)
        try:
            assert (await reader.get("/data/k")).value == b"v"  # type: ignore[union-attr]
            listed, revision = await reader.range("/data/")
            assert [kv.key for kv in listed] == ["/data/k"]
            events = reader.watch("/data/", start_revision=revision)
            assert [e.key for e in await take(events, 1)] == ["/data/k"]
            await events.aclose()  # type: ignore[attr-defined]
            with pytest.raises(StoreAccessDenied, match="denied user 'reader'") as raised:
                await reader.put("/data/k", b"mine")
            assert raised.value.exit_code == 2
        finally:
            await reader.close()

    async def test_root_writes_with_a_private_password_file(
        self, auth_cluster: EtcdCluster, tmp_path: Path
    ) -> None:
        secret = tmp_path / "password"
        secret.write_text(ROOT_PASSWORD + "\n")
        secret.chmod(0o600)
        await works(self.store(auth_cluster, "root", HACTL_STORE_PASSWORD_FILE=str(secret)))

    async def test_a_wrong_password_is_refused(self, auth_cluster: EtcdCluster) -> None:
        store = self.store(auth_cluster, "reader", HACTL_STORE_PASSWORD="wrong")
        with pytest.raises(StoreAccessDenied, match="refused the credentials"):
            await store.get("/k")
        await store.close()

    async def test_no_user_on_a_cluster_with_auth(self, auth_cluster: EtcdCluster) -> None:
        store = self.store(auth_cluster, None)
        with pytest.raises(StoreAccessDenied, match="use --user"):
            await store.get("/k")
        await store.close()

    def test_the_cli_reader_reads_and_a_write_exits_2_with_one_line(
        self, auth_cluster: EtcdCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("HACTL_STORE_PASSWORD", READER_PASSWORD)
        hactl = Hactl(store_url=auth_cluster.url(), workdir=tmp_path)
        assert hactl("--user", "reader", "get", "nodes").exit_code == 0
        assert hactl("--user", "reader", "store", "status").exit_code == 0
        result = hactl("--user", "reader", "apply", "-f", str(cluster_dir(hactl)))
        assert result.exit_code == 2
        [error] = [line for line in result.stderr.splitlines() if line.startswith("error")]
        assert error.startswith(f"error: etcd {auth_cluster.endpoints[0]} denied user 'reader'")
        assert error.endswith("(etcdserver: permission denied)")

    def test_password_sources(self, tmp_path: Path) -> None:
        loose = tmp_path / "loose"
        loose.write_text("pw")
        loose.chmod(0o644)
        cases = [
            ({}, "needs a password"),
            ({"HACTL_STORE_PASSWORD_FILE": str(loose)}, "chmod 600"),
            ({"HACTL_STORE_PASSWORD_FILE": str(loose), "HACTL_STORE_PASSWORD": "x"}, "not both"),
            ({"HACTL_STORE_PASSWORD_FILE": str(tmp_path / "none")}, "No such file"),
        ]
        for env, message in cases:
            with pytest.raises(UsageError, match=message):
                open_store("etcd://127.0.0.1:1", user="u", env=env)


class TestUnreachable:
    """A store that cannot be reached fails every kind of call with StoreUnavailable, in one
    line, within its deadline; a dead first endpoint is skipped."""

    async def test_every_call_fails_within_the_deadline(self) -> None:
        store = open_store(f"etcd://127.0.0.1:{closed_port()}?timeout=0.5s")
        calls = {
            "get": lambda: store.get("/k"),
            "put": lambda: store.put("/k", b""),
            "txn": lambda: store.txn([], []),
            "watch": lambda: anext(store.watch("/", start_revision=1)),
            "grant": lambda: store.grant_lease(1),
            "status": lambda: store.status(),
        }
        for name, call in calls.items():
            started = time.monotonic()
            with pytest.raises(StoreUnavailable) as raised:
                await call()  # type: ignore[no-untyped-call]
            assert time.monotonic() - started < 1.5, name
            assert "Connection refused" in str(raised.value) and "\n" not in str(raised.value)
        await store.close()

    async def test_a_dead_first_endpoint_is_skipped(self) -> None:
        member = shared_member()
        store = open_store(f"etcd://127.0.0.1:{closed_port()},{member.endpoints[0]}")
        assert isinstance(store, EtcdStore)
        try:
            await store.revision()
            assert store.endpoint == member.endpoints[0]
            assert (await store.status()).endpoint == member.endpoints[0]
        finally:
            await store.close()
