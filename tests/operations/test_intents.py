"""Operator intents, pure: records, names, lifetimes, and what they do to the snapshot."""

from __future__ import annotations

import pytest

from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.records import Incarnation
from reconciler.intents import (
    BadIntent,
    Intent,
    active,
    cluster_maintenance,
    next_expiry,
    node_overrides,
)
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Node, Resource
from reconciler.status import node_state


def declared(*, n1_standby: bool = False) -> DeclaredState:
    docs = [
        Node.model_validate({"metadata": {"name": "n1"}, "spec": {"standby": n1_standby}}),
        Node.model_validate({"metadata": {"name": "n2"}}),
        Resource.model_validate({"metadata": {"name": "x"}, "spec": {"agent": "hactl:Dummy"}}),
    ]
    return DeclaredState.of(docs)


def online(*intents: Intent) -> RuntimeRecords:
    found = RuntimeRecords()
    for node in ("n1", "n2"):
        found.members[node] = MemberInfo(node, f"i-{node}", 1, "h")
        found.incarnations[node] = Incarnation(f"i-{node}", 0.0)
    found.intents.update((i.name, i) for i in intents)
    return found


STANDBY = Intent(kind="standby", by="ci@runner", at=100.0, node="n1")


class TestRecords:
    """An intent survives the store as JSON; its name is one per kind and target."""

    def test_round_trip(self) -> None:
        intent = Intent(kind="ban", by="a@h", at=1.0, node="n2", resource="web", until=61.0)
        back = Intent.from_json(intent.to_json(), revision=7)
        assert back.until == 61.0 and back.at == 1.0 and back.by == "a@h"
        assert (back.kind, back.resource, back.node, back.revision) == ("ban", "web", "n2", 7)

    @pytest.mark.parametrize(
        ("intent", "name"),
        [
            (STANDBY, "standby/n1"),
            (Intent(kind="maintenance", by="a", at=0, node="n2"), "maintenance/n2"),
            (Intent(kind="cluster-maintenance", by="a", at=0), "cluster-maintenance/cluster"),
            (Intent(kind="move", by="a", at=0, resource="web", node="n2"), "move/web"),
            (Intent(kind="ban", by="a", at=0, resource="web", node="n2"), "ban/web/n2"),
            (Intent(kind="cleanup", by="a", at=0, resource="web"), "cleanup/web"),
            (Intent(kind="cleanup", by="a", at=0, resource="web", node="n1"), "cleanup/web/n1"),
            (Intent(kind="restart", by="a", at=0, resource="web"), "restart/web"),
        ],
    )
    def test_names(self, intent: Intent, name: str) -> None:
        assert intent.name == name

    @pytest.mark.parametrize(
        "raw", [b"not json", b"{}", b'{"kind": "reboot", "by": "a", "at": 1}', b'{"kind": 1}']
    )
    def test_unreadable(self, raw: bytes) -> None:
        with pytest.raises(BadIntent):
            Intent.from_json(raw)

    def test_unreadable_record_is_left_out_of_the_snapshot(self) -> None:
        records = RuntimeRecords.decode(
            "c",
            {"/hactl/c/intents/standby/n1": b"garbage", "/hactl/c/intents/standby/n2": b"{}"},
        )
        assert records.intents == {}

    def test_record_under_a_wrong_name_is_ignored(self) -> None:
        records = RuntimeRecords.decode("c", {"/hactl/c/intents/standby/n2": STANDBY.to_json()})
        assert records.intents == {}


class TestLifetime:
    """An intent with a lifetime stops counting at `until`, exactly."""

    def test_expiry(self) -> None:
        timed = Intent(kind="standby", by="a", at=100.0, node="n1", until=160.0)
        assert active([timed], 159.999) == [timed]
        assert active([timed], 160.0) == []
        assert next_expiry([timed, STANDBY], 100.0) == 160.0
        assert next_expiry([timed], 160.0) is None


class TestNodeOverrides:
    """Standby and maintenance intents override the Node manifest, both ways."""

    def test_standby_overrides_the_manifest(self) -> None:
        snapshot = build_snapshot(declared(), online(STANDBY), lost_at={}, now=200.0)
        assert snapshot.nodes["n1"].standby is True
        assert snapshot.nodes["n2"].standby is None
        assert node_state(declared(), online(STANDBY), "n1", now=200.0) == "standby"

    def test_online_override_beats_a_declared_standby(self) -> None:
        off = Intent(kind="standby", by="a", at=0, node="n1", value=False)
        state = declared(n1_standby=True)
        assert node_state(state, online(), "n1", now=1.0) == "standby"
        assert node_state(state, online(off), "n1", now=1.0) == "online"
        assert build_snapshot(state, online(off), lost_at={}, now=1.0).nodes["n1"].standby is False

    def test_expired_standby_no_longer_counts(self) -> None:
        timed = Intent(kind="standby", by="a", at=0, node="n1", until=10.0)
        assert (
            build_snapshot(declared(), online(timed), lost_at={}, now=10.0).nodes["n1"].standby
            is None
        )

    def test_maintenance_and_standby_combine(self) -> None:
        both = [STANDBY, Intent(kind="maintenance", by="a", at=0, node="n1")]
        override = node_overrides(both, 1.0)["n1"]
        assert (override.standby, override.maintenance) == (True, True)
        assert node_state(declared(), online(*both), "n1", now=1.0) == "maintenance"

    def test_cluster_maintenance(self) -> None:
        on = Intent(kind="cluster-maintenance", by="a", at=0)
        assert cluster_maintenance([on], 1.0)
        assert build_snapshot(declared(), online(on), lost_at={}, now=1.0).maintenance
        assert not build_snapshot(declared(), online(), lost_at={}, now=1.0).maintenance
