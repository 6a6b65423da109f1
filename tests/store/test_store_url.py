"""Store URLs and the default store location."""

from __future__ import annotations

from pathlib import Path

import pytest

from reconciler.errors import UsageError
from reconciler.store import MemoryStore, SqliteStore, default_store_url, open_store


class TestOpenStore:
    """Each scheme opens its backend; anything else is a one-line usage error."""

    def test_memory_is_fresh_each_time(self) -> None:
        first, second = open_store("memory://"), open_store("memory://")
        assert isinstance(first, MemoryStore) and first is not second

    async def test_a_named_memory_store_is_shared_until_closed(self) -> None:
        store = open_store("memory://shared-test")
        assert open_store("memory://shared-test") is store
        await store.close()
        assert open_store("memory://shared-test") is not store

    def test_sqlite_paths(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        absolute = open_store(f"sqlite://{tmp_path}/store.db")
        assert isinstance(absolute, SqliteStore) and absolute.path == tmp_path / "store.db"
        monkeypatch.chdir(tmp_path)
        relative = open_store("sqlite://rel/store.db")
        assert isinstance(relative, SqliteStore) and relative.path == tmp_path / "rel/store.db"

    @pytest.mark.parametrize(
        ("url", "message"),
        [
            ("etcd://127.0.0.1:2379/prefix", "must be host:port"),
            ("redis://localhost", "unknown scheme"),
            ("/var/lib/hactl/store.db", "has no scheme"),
            ("sqlite://", "has no path"),
            ("sqlite:///x.db?mode=ro", "take no options"),
            ("memory://a/b", "one word"),
        ],
    )
    def test_unusable_urls(self, url: str, message: str) -> None:
        with pytest.raises(UsageError, match=message) as raised:
            open_store(url)
        assert "\n" not in str(raised.value)


class TestNewStores:
    """A store opened on nothing starts empty at revision 0, as base.py promises."""

    @pytest.mark.parametrize("url", ["memory://", "sqlite://{tmp}/new.db"])
    async def test_a_new_store_is_at_revision_zero(self, url: str, tmp_path: Path) -> None:
        store = open_store(url.format(tmp=tmp_path))
        try:
            assert await store.revision() == 0
            assert await store.range("") == ([], 0)
        finally:
            await store.close()


class TestDefaultStoreUrl:
    """HACTL_STORE wins; else root uses /var/lib/hactl, others their XDG state directory."""

    def test_hactl_store_wins(self) -> None:
        assert default_store_url({"HACTL_STORE": "memory://"}, euid=0) == "memory://"

    def test_root(self) -> None:
        assert default_store_url({}, euid=0) == "sqlite:///var/lib/hactl/store.db"

    def test_a_user_with_xdg_state_home(self) -> None:
        env = {"XDG_STATE_HOME": "/s", "HOME": "/home/u"}
        assert default_store_url(env, euid=1000) == "sqlite:///s/hactl/store.db"

    def test_a_user_without_it_or_with_a_relative_one(self) -> None:
        expected = "sqlite:///home/u/.local/state/hactl/store.db"
        assert default_store_url({"HOME": "/home/u"}, euid=1000) == expected
        assert default_store_url({"HOME": "/home/u", "XDG_STATE_HOME": "s"}, euid=1000) == expected
