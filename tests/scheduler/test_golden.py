"""Golden regression cases: each directory under cases/ pins one scheduling decision.

Set HACTL_REGEN_GOLDEN=1 to rewrite expected.yaml from the scheduler's output — then
read the diff and check every change by reasoning before committing it.
"""

from __future__ import annotations

import os

import pytest

from reconciler.scheduler import schedule
from tests.scheduler.golden import case_names, load_case, read_expected, render, write_expected

REGENERATE = os.environ.get("HACTL_REGEN_GOLDEN") == "1"


@pytest.mark.parametrize("name", case_names())
def test_case(name: str) -> None:
    snapshot, now = load_case(name)
    got = render(schedule(snapshot, now))
    if REGENERATE:
        write_expected(name, got)
    assert got == read_expected(name)


def test_there_are_enough_cases() -> None:
    assert len(case_names()) >= 60
