"""Resource intents as scheduler inputs and as the leader's work, pure, on an injected
clock: move, ban, restart, cleanup, and lifetimes that end exactly on time."""

from __future__ import annotations

from reconciler import keys
from reconciler.agent.intent_work import intent_work
from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords, build_snapshot
from reconciler.agent.records import FailcountRecord, FenceRecord, Incarnation, Observed
from reconciler.intent_terms import intent_of, with_intents
from reconciler.intents import Intent
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Group, Location, Node, Resource
from reconciler.scheduler import schedule
from reconciler.scheduler.explain import explain_lines
from reconciler.snapshot import ClusterSnapshot

NODES = ("n1", "n2", "n3")
T0 = 1_000_000.0


def declared() -> DeclaredState:
    docs: list[object] = [Node.model_validate({"metadata": {"name": n}}) for n in NODES]
    for name in ("x", "a", "b"):
        docs.append(
            Resource.model_validate({"metadata": {"name": name}, "spec": {"agent": "hactl:Dummy"}})
        )
    docs.append(
        Group.model_validate({"metadata": {"name": "g"}, "spec": {"resources": ["a", "b"]}})
    )
    docs.append(
        Location.model_validate(
            {
                "metadata": {"name": "x-prefers-n1"},
                "spec": {"resource": "x", "node": "n1", "score": 50},
            }
        )
    )
    return DeclaredState.of(docs)  # type: ignore[arg-type]


def records(*intents: Intent, x_on: str | None = "n1") -> RuntimeRecords:
    found = RuntimeRecords()
    for node in NODES:
        found.members[node] = MemberInfo(node, f"i-{node}", 1, "h")
        found.incarnations[node] = Incarnation(f"i-{node}", 0.0)
    if x_on is not None:
        found.observed[x_on] = {"x": Observed(f"i-{x_on}", "Started", None, 0, 0.0)}
    found.intents.update((i.name, i) for i in intents)
    return found


def snapshot(found: RuntimeRecords, now: float) -> ClusterSnapshot:
    return build_snapshot(declared(), found, lost_at={}, now=now)


def placement(found: RuntimeRecords, resource: str, now: float) -> str | None:
    transition = schedule(snapshot(found, now), now)
    placed = transition.placement(resource)
    return placed.node if placed else None


def move(to: str, until: float | None = None) -> Intent:
    return Intent(kind="move", by="ops@ci", at=T0, resource="x", node=to, until=until)


def ban(node: str, until: float | None = None, resource: str = "x") -> Intent:
    return Intent(kind="ban", by="ops@ci", at=T0, resource=resource, node=node, until=until)


class TestAsConstraints:
    """move and ban are Location constraints named after the intent, with its source."""

    def test_move_is_an_infinity_location(self) -> None:
        state = with_intents(declared(), [move("n2")], T0)
        location = state.locations["intent-move-x"]
        assert (location.spec.resource, location.spec.node, int(location.spec.score or 0)) == (
            "x",
            "n2",
            1_000_000,
        )
        source = state.source_of("Location", "intent-move-x")
        assert source is not None and intent_of(source) == move("n2")

    def test_ban_is_a_minus_infinity_location(self) -> None:
        state = with_intents(declared(), [ban("n1")], T0)
        assert int(state.locations["intent-ban-x-n1"].spec.score or 0) == -1_000_000

    def test_nothing_to_add(self) -> None:
        state = declared()
        assert with_intents(state, [], T0) is state

    def test_stale_intents_are_left_out(self) -> None:
        gone = Intent(kind="move", by="a", at=0, resource="deleted", node="n2")
        nowhere = Intent(kind="ban", by="a", at=0, resource="x", node="n9")
        assert with_intents(declared(), [gone, nowhere], T0).locations.keys() == {"x-prefers-n1"}

    def test_a_long_name_gets_a_digest(self) -> None:
        long = Intent(kind="ban", by="a", at=0, resource="r" * 60, node="n1")
        docs = [
            *declared(),
            Resource.model_validate(
                {"metadata": {"name": "r" * 60}, "spec": {"agent": "hactl:Dummy"}}
            ),
        ]
        state = with_intents(DeclaredState.of(docs), [long], T0)
        (name,) = [n for n in state.locations if n.startswith("intent-")]
        assert name.startswith("intent-ban-") and len(name) <= 63

    def test_saved_input_replays_with_the_intent(self) -> None:
        saved = snapshot(records(move("n2")), T0)
        replayed = ClusterSnapshot.from_json(saved.to_json())
        assert "intent-move-x" in replayed.declared.locations


class TestPlacement:
    """The scheduler weighs intents like manifests; a ban beats a move; safety unchanged."""

    def test_move(self) -> None:
        assert placement(records(), "x", T0) == "n1"
        assert placement(records(move("n2")), "x", T0) == "n2"

    def test_ban_from_the_current_node(self) -> None:
        assert placement(records(ban("n1")), "x", T0) == "n2"

    def test_ban_beats_move(self) -> None:
        assert placement(records(move("n2"), ban("n2")), "x", T0) == "n1"

    def test_move_stops_before_it_starts(self) -> None:
        transition = schedule(snapshot(records(move("n2")), T0), T0)
        stop, start = [a for a in transition.actions if a.resource == "x"]
        assert (str(stop), str(start)) == ("stop x on n1", "start x on n2")
        assert stop.id in start.after

    def test_banned_everywhere_stops(self) -> None:
        found = records(*(ban(n) for n in NODES))
        assert placement(found, "x", T0) is None

    def test_move_of_a_group(self) -> None:
        group_move = Intent(kind="move", by="a", at=T0, resource="g", node="n3")
        found = records(group_move, x_on=None)
        assert placement(found, "a", T0) == "n3" and placement(found, "b", T0) == "n3"

    def test_explain_names_the_intent(self) -> None:
        snap = snapshot(records(move("n2")), T0)
        text = "\n".join(explain_lines("x", schedule(snap, T0), declared=snap.declared))
        (term,) = [line for line in text.splitlines() if "INFINITY  location n2" in line]
        assert term.endswith("[intent move x to n2 (by ops@ci at 1970-01-12T13:46:40Z)]")


class TestLifetime:
    """An intent given a lifetime ends exactly at `until`, and the leader removes it."""

    def test_move_for_an_hour(self) -> None:
        found = records(move("n2", until=T0 + 3600))
        assert placement(found, "x", T0) == "n2"
        assert placement(found, "x", T0 + 3599.9) == "n2"
        assert placement(found, "x", T0 + 3600) == "n1"

    def test_leader_removes_the_expired_intent(self) -> None:
        found = records(ban("n1", until=T0 + 60))
        work = intent_work(
            "c", found, snapshot(found, T0 + 60), declared=declared(), revisions={}, now=T0 + 60
        )
        assert work.finished == {"ban/x/n1": "expired"}
        early = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={}, now=T0
        )
        assert early.finished == {}


class TestRestart:
    """restart holds the resource stopped until it is stopped everywhere, then ends."""

    def test_restart_stops_first(self) -> None:
        found = records(Intent(kind="restart", by="a", at=T0, resource="x"))
        snap = snapshot(found, T0)
        actions = [str(a) for a in schedule(snap, T0).actions if a.resource == "x"]
        assert actions == ["stop x on n1"]
        work = intent_work("c", found, snap, declared=declared(), revisions={}, now=T0)
        assert work.finished == {}

    def test_restart_done_once_stopped(self) -> None:
        found = records(Intent(kind="restart", by="a", at=T0, resource="x"), x_on=None)
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={}, now=T0
        )
        assert work.finished == {"restart/x": "stopped; starting again"}

    def test_restart_of_a_group_waits_for_every_member(self) -> None:
        found = records(Intent(kind="restart", by="a", at=T0, resource="g"), x_on=None)
        found.observed["n2"] = {"b": Observed("i-n2", "Started", None, 0, 0.0)}
        snap = snapshot(found, T0)
        assert "stop b on n2" in [str(a) for a in schedule(snap, T0).actions]
        work = intent_work("c", found, snap, declared=declared(), revisions={}, now=T0)
        assert "restart/g" not in work.finished


class TestCleanup:
    """cleanup forgets failures recorded before it (by store revision), never newer ones."""

    def cleanup(self, revision: int = 100, node: str | None = None) -> Intent:
        return Intent(kind="cleanup", by="a", at=T0, resource="x", node=node, revision=revision)

    def failed(self, found: RuntimeRecords, node: str) -> str:
        found.failcounts[node] = {("x", "monitor"): FailcountRecord(3, T0 - 10)}
        return keys.failcount("c", node, "x", "monitor")

    def test_an_online_node_cleans_up_itself(self) -> None:
        found = records(self.cleanup())
        key = self.failed(found, "n2")
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={key: 50}, now=T0
        )
        assert work.node_cleanups == {"n2": ("x",)} and work.finished == {}

    def test_newer_failures_are_not_its_business(self) -> None:
        found = records(self.cleanup())
        key = self.failed(found, "n2")
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={key: 150}, now=T0
        )
        assert work.node_cleanups == {} and work.finished == {"cleanup/x": "failures forgotten"}

    def test_a_failed_observed_record_is_probed_again(self) -> None:
        found = records(self.cleanup(), x_on=None)
        found.observed["n1"] = {"x": Observed("i-n1", "Stopped", "monitor", 7, 0.0)}
        revisions = {keys.observed("c", "n1", "x"): 40}
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions=revisions, now=T0
        )
        assert work.node_cleanups == {"n1": ("x",)}

    def test_leader_deletes_failcounts_of_a_node_without_agent(self) -> None:
        found = records(self.cleanup())
        key = self.failed(found, "n3")
        del found.members["n3"]
        found.fenced["n3"] = FenceRecord("i-n3", 1.0, "power", "off", "n1")
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={key: 50}, now=T0
        )
        assert work.stale_keys == (key,) and work.node_cleanups == {}

    def test_a_lost_unfenced_node_keeps_its_failures(self) -> None:
        found = records(self.cleanup())
        key = self.failed(found, "n3")
        del found.members["n3"]
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={key: 50}, now=T0
        )
        assert work.stale_keys == () and work.finished == {"cleanup/x": "failures forgotten"}

    def test_limited_to_one_node(self) -> None:
        found = records(self.cleanup(node="n1"))
        key = self.failed(found, "n2")
        work = intent_work(
            "c", found, snapshot(found, T0), declared=declared(), revisions={key: 50}, now=T0
        )
        assert work.node_cleanups == {} and "cleanup/x/n1" in work.finished
