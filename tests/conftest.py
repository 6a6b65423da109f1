"""Fixtures shared by several test directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fencing.processes import Processes


@pytest.fixture
def procs(tmp_path: Path) -> Iterator[Processes]:
    """Processes a test starts, each killed and reaped by PID afterwards."""
    processes = Processes(tmp_path)
    try:
        yield processes
    finally:
        processes.cleanup()
