"""Convergence, pure: nothing planned, handed out or in flight; drained; failed."""

from __future__ import annotations

import io

from reconciler.agent.decisions import Decision, Step
from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords
from reconciler.agent.records import FailcountRecord, Incarnation, Observed
from reconciler.cli.waiting import LiveDisplay, PlainDisplay
from reconciler.convergence import progress
from reconciler.intents import Intent
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Node, Resource


def declared() -> DeclaredState:
    docs = [
        Node.model_validate({"metadata": {"name": "n1"}}),
        Node.model_validate({"metadata": {"name": "n2"}}),
        Resource.model_validate({"metadata": {"name": "x"}, "spec": {"agent": "hactl:Dummy"}}),
    ]
    return DeclaredState.of(docs)


def records(x_on: str | None = "n1", **observed: Observed) -> RuntimeRecords:
    found = RuntimeRecords()
    for node in ("n1", "n2"):
        found.members[node] = MemberInfo(node, f"i-{node}", 1, "h")
        found.incarnations[node] = Incarnation(f"i-{node}", 0.0)
    if x_on is not None:
        found.observed[x_on] = {"x": Observed(f"i-{x_on}", "Started", None, 0, 0.0)}
    for node, record in observed.items():
        found.observed.setdefault(node, {})["x"] = record
    return found


class TestConverged:
    """Converged means the scheduler has nothing to do and nothing is in flight."""

    def test_running_where_placed(self) -> None:
        now = progress(declared(), records(), {}, now=1.0)
        assert now.converged and (now.settled, now.total) == (1, 1)
        assert now.active_on == {"n1": ("x",)}

    def test_not_started_yet(self) -> None:
        now = progress(declared(), records(x_on=None), {}, now=1.0)
        assert not now.converged and now.planned == ("start x on n1",)
        assert now.settled == 0 and "start x on n1" in now.summary()

    def test_a_step_handed_out_is_in_flight(self) -> None:
        decisions = {"n1": Decision(1, (Step("start", "x"),))}
        now = progress(declared(), records(), decisions, now=1.0)
        assert not now.converged and now.running == ("start x on n1",)

    def test_a_pending_announcement_is_in_flight(self) -> None:
        pending = Observed("i-n1", "Stopped", None, 7, 0.0, pending="start")
        now = progress(declared(), records(x_on=None, n1=pending), {}, now=1.0)
        assert not now.converged and now.running == ("start x on n1",)


class TestDrained:
    """A node in standby is drained once nothing is possibly active there."""

    def test_standby_node_not_drained_until_moved(self) -> None:
        found = records()
        standby = Intent(kind="standby", by="a", at=0, node="n1")
        found.intents[standby.name] = standby
        now = progress(declared(), found, {}, now=1.0)
        assert not now.drained("n1") and "stop x on n1" in now.planned
        moved = records(x_on="n2")
        moved.intents[standby.name] = standby
        assert progress(declared(), moved, {}, now=1.0).drained("n1")

    def test_maintenance_never_drains(self) -> None:
        found = records()
        for intent in (
            Intent(kind="standby", by="a", at=0, node="n1"),
            Intent(kind="maintenance", by="a", at=0, node="n1"),
        ):
            found.intents[intent.name] = intent
        now = progress(declared(), found, {}, now=1.0)
        assert now.converged and not now.drained("n1")


class TestFailed:
    """A resource its failures keep from running is reported, and only then."""

    def test_failed_start_everywhere(self) -> None:
        found = records(x_on=None)
        for node in ("n1", "n2"):
            found.failcounts[node] = {("x", "start"): FailcountRecord(1_000_000, 0.5)}
        now = progress(declared(), found, {}, now=1.0)
        assert now.converged and len(now.failed) == 1 and now.failed[0].startswith("x (")

    def test_recovered_elsewhere_is_not_failed(self) -> None:
        found = records(x_on="n2")
        found.failcounts["n1"] = {("x", "start"): FailcountRecord(1_000_000, 0.5)}
        found.observed["n1"] = {"x": Observed("i-n1", "Stopped", "monitor", 7, 0.0)}
        now = progress(declared(), found, {}, now=1.0)
        assert now.converged and now.failed == ()


class TestDisplays:
    """Progress shows as a redrawn bar on a terminal and as changed lines elsewhere."""

    def test_plain_lines_only_on_change(self) -> None:
        out = io.StringIO()
        display = PlainDisplay(out)
        busy = progress(declared(), records(x_on=None), {}, now=1.0)
        display.show(busy)
        display.show(busy)
        display.show(progress(declared(), records(), {}, now=1.0))
        lines = out.getvalue().splitlines()
        assert len(lines) == 2
        assert lines[0].endswith("0/1 resources converged; in progress: start x on n1")
        assert lines[1].endswith("1/1 resources converged")

    def test_live_display_renders_counts_and_actions(self) -> None:
        out = io.StringIO()
        display = LiveDisplay(out)
        display.show(progress(declared(), records(x_on=None), {}, now=1.0))
        display.close()
        text = out.getvalue()
        assert "0/1 resources converged" in text and "start x on n1" in text
