"""Claims: the store-enforced limit on where a resource may run, as pure decisions."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from reconciler import keys
from reconciler.agent.claims import Claim, limits, plan_claims
from reconciler.agent.membership import MemberInfo
from reconciler.agent.observe import RuntimeRecords
from reconciler.agent.records import FenceRecord, Incarnation, Observed
from reconciler.model.declared import DeclaredState
from reconciler.model.kinds import Node, Resource
from reconciler.store.base import KeyValue

NODES = ("n1", "n2", "n3")


def declared(clone: dict[str, object] | None = None) -> DeclaredState:
    spec: dict[str, object] = {"agent": "hactl:Dummy"}
    if clone is not None:
        spec["clone"] = clone
    docs = [Node.model_validate({"metadata": {"name": n}}) for n in NODES]
    docs.append(Resource.model_validate({"metadata": {"name": "x"}, "spec": spec}))
    return DeclaredState.of(docs)


def kv(key: str, revision: int = 5) -> KeyValue:
    return KeyValue(key, b"", revision, revision, 1)


def online(*nodes: str, observed: dict[str, Observed] | None = None) -> RuntimeRecords:
    records = RuntimeRecords()
    for node in nodes:
        records.members[node] = MemberInfo(node, f"i-{node}", 1, "h")
        records.incarnations[node] = Incarnation(f"i-{node}", 0.0)
    for node, seen in (observed or {}).items():
        records.observed.setdefault(node, {})["x"] = seen
    return records


def seen(
    role: str = "Started", *, pending: str | None = None, failed: str | None = None
) -> Observed:
    return Observed("i", role, failed, 0, 0.0, pending)  # type: ignore[arg-type]


def evidence(records: RuntimeRecords) -> dict[str, KeyValue]:
    found = {}
    for node, per in records.observed.items():
        for resource in per:
            key = keys.observed("t", node, resource)
            found[key] = kv(key)
    for node in records.fenced:
        found[keys.fenced("t", node)] = kv(keys.fenced("t", node))
    return found


def plan(
    state: DeclaredState,
    records: RuntimeRecords,
    current: Claim,
    *,
    target: list[str],
    promote: list[str] | None = None,
) -> Claim:
    changes = plan_claims(
        cluster="t",
        declared=state,
        records=records,
        claims={"x": (current, 3)} if current != Claim() else {},
        evidence=evidence(records),
        targets={"x": target},
        promote_targets={"x": promote or []},
    )
    return changes[0].new if changes else current


class TestPrimitive:
    """A primitive's claim names at most one node, and moves only with evidence."""

    def test_first_claim(self) -> None:
        assert plan(declared(), online(*NODES), Claim(), target=["n1"]) == Claim(("n1",))

    def test_no_move_while_the_holder_may_run_it(self) -> None:
        records = online(*NODES, observed={"n1": seen("Started")})
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n1",))

    def test_no_move_while_a_stop_is_pending(self) -> None:
        records = online(*NODES, observed={"n1": seen("Started", pending="stop")})
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n1",))

    def test_no_move_after_a_failed_stop(self) -> None:
        records = online(*NODES, observed={"n1": seen("Started", failed="stop")})
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n1",))

    def test_moves_once_reported_stopped(self) -> None:
        records = online(*NODES, observed={"n1": seen("Stopped")})
        changes = plan_claims(
            cluster="t",
            declared=declared(),
            records=records,
            claims={"x": (Claim(("n1",)), 3)},
            evidence=evidence(records),
            targets={"x": ["n2"]},
            promote_targets={},
        )
        assert changes[0].new == Claim(("n2",))
        compared = {(c.key, c.target, c.operand) for c in changes[0].compares}
        assert (keys.observed("t", "n1", "x"), "mod", 5) in compared
        assert (keys.claim("t", "x"), "mod", 3) in compared

    def test_lost_node_keeps_its_claim_until_fenced(self) -> None:
        records = online("n2", "n3", observed={"n1": seen("Started")})
        records.incarnations["n1"] = Incarnation("i-n1", 0.0)
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n1",))
        records.fenced["n1"] = FenceRecord("i-n1", 1.0, "power", "off", "n2")
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n2",))

    def test_fencing_an_older_incarnation_is_no_evidence(self) -> None:
        records = online("n2", "n3", observed={"n1": seen("Started")})
        records.incarnations["n1"] = Incarnation("i-new", 0.0)
        records.fenced["n1"] = FenceRecord("i-old", 1.0, "power", "off", "n2")
        assert plan(declared(), records, Claim(("n1",)), target=["n2"]) == Claim(("n1",))


class TestClones:
    """Clones are limited to max nodes and promotedMax promoted nodes."""

    def test_limits(self) -> None:
        assert limits(declared({"max": 2}), "x").active == 2
        promotable = declared({"promotable": True, "promotedMax": 1})
        assert limits(promotable, "x").active == 3 and limits(promotable, "x").promoted == 1

    def test_promotion_moves_only_after_demotion(self) -> None:
        state = declared({"promotable": True})
        records = online(*NODES, observed={"n1": seen("Promoted"), "n2": seen("Unpromoted")})
        current = Claim(NODES, ("n1",))
        assert plan(state, records, current, target=list(NODES), promote=["n2"]) == current
        records.observed["n1"]["x"] = seen("Unpromoted")
        moved = plan(state, records, current, target=list(NODES), promote=["n2"])
        assert moved == Claim(NODES, ("n2",))


roles = st.sampled_from(["Started", "Stopped", "Promoted", "Unpromoted"])
pendings = st.sampled_from([None, "start", "stop", "promote", "demote"])


class TestProperties:
    """Whatever the targets and reports, claims never exceed their limits, and a node
    that may still run the resource is never dropped."""

    @settings(max_examples=300, deadline=None)
    @given(
        current=st.lists(st.sampled_from(NODES), unique=True, max_size=1),
        target=st.lists(st.sampled_from(NODES), unique=True, max_size=3),
        reports=st.dictionaries(st.sampled_from(NODES), st.tuples(roles, pendings)),
        alive=st.lists(st.sampled_from(NODES), unique=True),
    )
    def test_primitive(
        self,
        current: list[str],
        target: list[str],
        reports: dict[str, tuple[str, str | None]],
        alive: list[str],
    ) -> None:
        records = online(*alive, observed={n: seen(r, pending=p) for n, (r, p) in reports.items()})
        for node in NODES:
            records.incarnations.setdefault(node, Incarnation(f"i-{node}", 0.0))
        new = plan(declared(), records, Claim(tuple(current)), target=target)
        assert len(new.active) <= 1
        for node in current:
            report = records.observed.get(node, {}).get("x")
            may_run = node not in alive or (
                report is not None and (report.possibly_active or report.pending is not None)
            )
            if may_run:
                assert node in new.active
