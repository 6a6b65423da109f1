"""Running `hactl` in-process against a fresh embedded store per test."""

from __future__ import annotations

import asyncio
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from reconciler.cli.main import build
from reconciler.store.url import open_store


@dataclass
class Hactl:
    store_url: str
    workdir: Path

    def __call__(self, *args: str, input: str | None = None) -> Result:
        runner = CliRunner()
        return runner.invoke(
            build(),
            ["--store", self.store_url, *args],
            input=input,
            catch_exceptions=False,
        )

    def write(self, name: str, text: str) -> Path:
        path = self.workdir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def revision(self) -> int:
        async def read() -> int:
            store = open_store(self.store_url)
            try:
                return await store.revision()
            finally:
                await store.close()

        return asyncio.run(read())


@pytest.fixture
def hactl(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Hactl:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HACTL_STORE", raising=False)
    return Hactl(store_url=f"sqlite://{tmp_path}/store.db", workdir=tmp_path)


ManifestWriter = Callable[..., Path]
