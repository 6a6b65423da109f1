"""From runtime records to the scheduler's snapshot: who is online, who is unclean."""

from __future__ import annotations

from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.records import CleanShutdown, FenceRecord, Incarnation, Observed
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Node, Resource

NODES = ("n1", "n2")


def declared() -> DeclaredState:
    docs = [Node.model_validate({"metadata": {"name": n}}) for n in NODES]
    docs.append(
        Resource.model_validate({"metadata": {"name": "x"}, "spec": {"agent": "hactl:Dummy"}})
    )
    return DeclaredState.of(docs)


def records(
    *, n1_member: bool, role: str = "Started", pending: str | None = None
) -> RuntimeRecords:
    found = RuntimeRecords()
    found.members["n2"] = MemberInfo("n2", "i2", 1, "h")
    found.incarnations["n2"] = Incarnation("i2", 0.0)
    found.incarnations["n1"] = Incarnation("i1", 0.0)
    if n1_member:
        found.members["n1"] = MemberInfo("n1", "i1", 1, "h")
    found.observed["n1"] = {"x": Observed("i1", role, None, 0, 0.0, pending)}  # type: ignore[arg-type]
    return found


class TestNodeStates:
    """Lost nodes stay unclean with their resources until fenced or cleanly gone."""

    def test_online(self) -> None:
        snap = build_snapshot(declared(), records(n1_member=True), lost_at={}, now=1.0)
        assert snap.nodes["n1"].online and not snap.nodes["n1"].unclean
        assert [(i.resource, i.node, i.role) for i in snap.resources] == [("x", "n1", "Started")]

    def test_lost_is_unclean_and_keeps_its_resources(self) -> None:
        snap = build_snapshot(declared(), records(n1_member=False), lost_at={"n1": 5.0}, now=6.0)
        assert not snap.nodes["n1"].online and snap.nodes["n1"].unclean
        assert snap.nodes["n1"].lost_at == 5.0
        assert [i.node for i in snap.resources] == ["n1"]

    def test_fenced_is_clean_and_empty(self) -> None:
        found = records(n1_member=False)
        found.fenced["n1"] = FenceRecord("i1", 1.0, "power", "off", "n2")
        snap = build_snapshot(declared(), found, lost_at={}, now=6.0)
        assert not snap.nodes["n1"].unclean and snap.resources == ()

    def test_fenced_while_its_lease_runs_out(self) -> None:
        found = records(n1_member=True)
        found.fenced["n1"] = FenceRecord("i1", 1.0, "power", "off", "n2")
        snap = build_snapshot(declared(), found, lost_at={}, now=6.0)
        assert not snap.nodes["n1"].online and snap.resources == ()

    def test_clean_shutdown(self) -> None:
        found = records(n1_member=False, role="Stopped")
        found.clean["n1"] = CleanShutdown("i1", 1.0)
        snap = build_snapshot(declared(), found, lost_at={}, now=6.0)
        assert not snap.nodes["n1"].unclean

    def test_clean_shutdown_of_an_older_incarnation_does_not_count(self) -> None:
        found = records(n1_member=False)
        found.clean["n1"] = CleanShutdown("i0", 1.0)
        assert build_snapshot(declared(), found, lost_at={}, now=6.0).nodes["n1"].unclean

    def test_pending_start_counts_as_started(self) -> None:
        found = records(n1_member=True, role="Stopped", pending="start")
        snap = build_snapshot(declared(), found, lost_at={}, now=1.0)
        assert [(i.node, i.role) for i in snap.resources] == [("n1", "Started")]

    def test_shutdown_request_is_standby(self) -> None:
        found = records(n1_member=True)
        found.shutdown["n1"] = "i1"
        snap = build_snapshot(declared(), found, lost_at={}, now=1.0)
        assert snap.nodes["n1"].standby is True

    def test_never_joined_is_offline_and_clean(self) -> None:
        found = RuntimeRecords()
        snap = build_snapshot(declared(), found, lost_at={}, now=1.0)
        assert not snap.nodes["n1"].online and not snap.nodes["n1"].unclean
