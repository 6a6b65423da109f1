"""etcd URLs and credentials are checked when the store is opened, without any I/O."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.store.etcd_codec import key_range
from reconciler.store.etcd_config import DEFAULT_TIMEOUT, etcd_config


class TestUrl:
    """Endpoints in order with port 2379 by default; `?timeout=` is the one option."""

    @pytest.mark.parametrize(
        ("location", "endpoints", "timeout"),
        [
            ("h1:23790,h2:23791", ("h1:23790", "h2:23791"), DEFAULT_TIMEOUT),
            ("h1", ("h1:2379",), DEFAULT_TIMEOUT),
            ("[::1]:5,[fe80::1]", ("[::1]:5", "[fe80::1]:2379"), DEFAULT_TIMEOUT),
            ("10.0.0.1:2379/", ("10.0.0.1:2379",), DEFAULT_TIMEOUT),
            ("h:1?timeout=500ms", ("h:1",), 0.5),
            ("h:1?timeout=2", ("h:1",), 2.0),
        ],
    )
    def test_valid(self, location: str, endpoints: tuple[str, ...], timeout: float) -> None:
        config = etcd_config(location, env={})
        assert (config.endpoints, config.timeout, config.tls) == (endpoints, timeout, False)

    @pytest.mark.parametrize(
        ("location", "message"),
        [
            ("", "empty endpoint"),
            ("h:1,,h:2", "empty endpoint"),
            ("h:0", "port 1-65535"),
            ("h:http", "port 1-65535"),
            ("h:1/prefix", "no paths"),
            ("user@h:1", "no paths, no user"),
            ("[::1", "IPv6"),
            ("h:1?ttl=3", "'ttl' is unknown"),
            ("h:1?timeout=0s", "at most 10m"),
            ("h:1?timeout=11m", "at most 10m"),
            ("h:1?timeout=soon", "duration like 2s"),
            ("h:1?timeout", "name=value"),
        ],
    )
    def test_invalid(self, location: str, message: str) -> None:
        with pytest.raises(UsageError, match=message) as raised:
            etcd_config(location, env={})
        assert "\n" not in str(raised.value)


class TestSecrets:
    """The password never shows in a repr (nor in logs built from it)."""

    def test_repr_hides_the_password_and_key(self, tmp_path: Path) -> None:
        key = tmp_path / "client.key"
        key.write_text("KEY MATERIAL")
        key.chmod(0o600)
        (tmp_path / "client.crt").write_text("CERT")
        config = etcd_config(
            "h:1",
            cert=str(tmp_path / "client.crt"),
            key=str(key),
            user="alice",
            env={"HACTL_STORE_PASSWORD": "hunter2-secret"},
        )
        assert config.password == "hunter2-secret" and config.private_key == b"KEY MATERIAL"
        assert "hunter2" not in repr(config) and "KEY MATERIAL" not in repr(config)
        assert config.tls and config.user == "alice"


class TestKeyRange:
    """A prefix is the byte range etcd calls a prefix range; the empty prefix is every key."""

    @pytest.mark.parametrize(
        ("prefix", "expected"),
        [
            ("", (b"\0", b"\0")),
            ("/a/", (b"/a/", b"/a0")),
            ("/k/\U0010ffff", (b"/k/\xf4\x8f\xbf\xbf", b"/k/\xf4\x8f\xbf\xc0")),
        ],
    )
    def test_ranges(self, prefix: str, expected: tuple[bytes, bytes]) -> None:
        assert key_range(prefix) == expected
