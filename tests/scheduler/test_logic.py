"""Unit tests of the scheduler's pure building blocks, one class per concern."""

from __future__ import annotations

import pytest

from reconciler.model.base import Metadata
from reconciler.model.kinds import Operation, Resource, ResourceSpec, Rule
from reconciler.model.values import INFINITY, Duration, Score
from reconciler.scheduler.choice import Candidate, Load, pick
from reconciler.scheduler.colocation import scaled
from reconciler.scheduler.failures import on_fail
from reconciler.scheduler.graph import Graph
from reconciler.scheduler.rules import compare, holds
from reconciler.scheduler.sequence import placement_order
from reconciler.scheduler.terms import Sheet, Term, combine

pytestmark = pytest.mark.timeout(10)


def _resource(*ops: Operation) -> Resource:
    return Resource(metadata=Metadata(name="r"), spec=ResourceSpec(agent="ocf:x:y", ops=list(ops)))


class TestCombine:
    """Scores add up the Pacemaker way: -INFINITY wins, then INFINITY, then the clamped sum."""

    def test_minus_infinity_beats_infinity(self) -> None:
        assert combine([INFINITY, -INFINITY, 5]) == -INFINITY

    def test_infinity_absorbs_finite_terms(self) -> None:
        assert combine([INFINITY, -500]) == INFINITY

    def test_finite_sums_saturate(self) -> None:
        assert combine([900_000, 900_000]) == INFINITY
        assert combine([-900_000, -900_000]) == -INFINITY

    def test_order_does_not_matter(self) -> None:
        terms = [600_000, 600_000, -600_000]
        assert combine(terms) == combine(reversed(terms)) == 600_000


class TestSheet:
    """A sheet keeps sparse per-node totals that match `combine` over its terms."""

    def test_totals_per_node_and_elsewhere(self) -> None:
        sheet = Sheet()
        sheet.add(Term(100, ("n1",), "a"))
        sheet.add(Term(-INFINITY, ("n2",), "b"))
        sheet.add(Term(5, None, "everywhere"))
        assert (sheet.total("n1"), sheet.total("n2"), sheet.total("n3")) == (105, -INFINITY, 5)
        assert sheet.everywhere == 5
        assert sheet.touched_nodes() == {"n1", "n2"}

    def test_discard_takes_a_merge_back(self) -> None:
        sheet = Sheet()
        sheet.add(Term(10, ("n1",), "own"))
        merged = [Term(-INFINITY, ("n1",), "merged")]
        sheet.extend(merged)
        sheet.discard(merged)
        assert sheet.total("n1") == 10
        assert [t.text for t in sheet.terms] == ["own"]

    def test_zero_terms_are_not_kept(self) -> None:
        sheet = Sheet()
        sheet.add(Term(0, ("n1",), "nothing"))
        assert sheet.terms == []


class TestRules:
    """Rule expressions compare as numbers when both sides are numbers, else as strings."""

    def test_numbers_compare_numerically(self) -> None:
        assert compare("10", 9) > 0
        assert compare("1.9", "1.10") > 0

    def test_strings_compare_lexically(self) -> None:
        assert compare("east", "south") < 0
        assert compare("10a", "9") < 0

    def test_booleans_compare_as_words(self) -> None:
        assert holds(Rule(attribute="ssd", op="eq", value="true", score=Score(1)), {"ssd": True})

    def test_missing_attribute_only_satisfies_ne_and_not_defined(self) -> None:
        for op, expected in [("lt", False), ("eq", False), ("ne", True), ("gte", False)]:
            rule = Rule.model_validate({"attribute": "pingd", "op": op, "value": "1", "score": 1})
            assert holds(rule, {}) is expected, op
        assert holds(Rule(attribute="pingd", op="not_defined", score=Score(1)), {})
        assert not holds(Rule(attribute="pingd", op="defined", score=Score(1)), {})


class TestOnFail:
    """Each operation's failure policy, with Pacemaker's defaults."""

    def test_monitor_defaults_to_restart(self) -> None:
        assert on_fail(_resource(), "monitor", can_fence=True) == "restart"

    def test_stop_fences_when_fencing_is_possible_and_blocks_otherwise(self) -> None:
        assert on_fail(_resource(), "stop", can_fence=True) == "fence"
        assert on_fail(_resource(), "stop", can_fence=False) == "block"

    def test_a_stop_can_never_be_restarted_or_ignored(self) -> None:
        for declared in ("restart", "ignore", "stop"):
            op = Operation.model_validate({"name": "stop", "onFail": declared})
            assert on_fail(_resource(op), "stop", can_fence=True) == "fence"

    def test_fence_without_fencing_blocks(self) -> None:
        op = Operation(name="monitor", interval=Duration(10_000), on_fail="fence")
        assert on_fail(_resource(op), "monitor", can_fence=False) == "block"


class TestPick:
    """Node choice: score, then fewest assigned, then the current node, then the name."""

    def test_highest_score_wins(self) -> None:
        choice = pick([Candidate("a", 1), Candidate("b", 5)], load={}, current=(), stay=False)
        assert choice is not None and choice.node == "b"

    def test_tie_goes_to_fewest_assigned_before_current_node(self) -> None:
        candidates = [Candidate("a", 0), Candidate("b", 0)]
        choice = pick(candidates, load={"a": 1}, current=("a",), stay=False)
        assert choice is not None and choice.node == "b"
        assert "fewest resources" in choice.why

    def test_sticky_resource_keeps_its_node_on_a_saturated_tie(self) -> None:
        candidates = [Candidate("a", INFINITY), Candidate("b", INFINITY)]
        choice = pick(candidates, load={"a": 1}, current=("a",), stay=False, sticky=True)
        assert choice is not None and choice.node == "a"

    def test_tie_with_equal_load_goes_by_name(self) -> None:
        choice = pick([Candidate("b", 0), Candidate("a", 0)], load={}, current=(), stay=False)
        assert choice is not None and choice.node == "a"

    def test_autofailback_off_stays_on_an_allowed_current_node(self) -> None:
        candidates = [Candidate("a", 0), Candidate("b", 1000)]
        choice = pick(candidates, load={}, current=("a",), stay=True)
        assert choice is not None and choice.node == "a"

    def test_deeper_group_placement_wins_before_score(self) -> None:
        candidates = [Candidate("a", 1000, depth=1), Candidate("b", 0, depth=3)]
        choice = pick(candidates, load={}, current=(), stay=False)
        assert choice is not None and choice.node == "b"

    def test_no_candidate_no_choice(self) -> None:
        assert pick([], load={}, current=(), stay=False) is None


class TestLoad:
    """The load index finds the least loaded nodes outside a set without scanning them all."""

    def test_best_untouched_skips_named_nodes_and_prefers_low_load(self) -> None:
        load = Load(["a", "b", "c"], ["a", "b", "c"])
        load.add("a")
        assert load.best_untouched({"b"}, ())[0] == "c"

    def test_current_nodes_are_always_offered(self) -> None:
        load = Load(["a", "b", "c"], ["a", "b", "c"])
        load.add("c")
        assert "c" in load.best_untouched(set(), ("c",))


class TestScaled:
    """How a dependent's preference weighs on its primary through a colocation."""

    def test_mandatory_colocation_passes_bans_and_preferences(self) -> None:
        assert scaled(-INFINITY, INFINITY) == -INFINITY
        assert scaled(100, INFINITY) == 100

    def test_advisory_colocation_scales_down(self) -> None:
        assert scaled(INFINITY, 500) == 500
        assert scaled(4000, 4001) == 16

    def test_negative_colocation_passes_nothing(self) -> None:
        assert scaled(100, -INFINITY) == 0


class TestPlacementOrder:
    """Units are placed after their prerequisites; a cycle is cut before a running unit."""

    def test_prerequisites_come_first(self) -> None:
        needs = {"a": ["b"], "b": ["c"], "c": []}
        order = placement_order(
            ["a", "b", "c"], needs.__getitem__, importance=lambda u: u, running=lambda u: False
        )
        assert order == ["c", "b", "a"]

    def test_a_cycle_starts_at_the_running_unit(self) -> None:
        needs = {"a": ["b"], "b": ["a"]}
        order = placement_order(
            ["a", "b"], needs.__getitem__, importance=lambda u: u, running=lambda u: u == "b"
        )
        assert order == ["b", "a"]


class TestGraph:
    """The action graph's linear order, pseudo actions and loops."""

    def test_pseudo_actions_are_bridged_and_dropped(self) -> None:
        graph = Graph()
        fence = graph.add("fence", "n1", resource=None, reason="lost")
        implied = graph.add("stop", "n1", resource="r", reason="fenced", pseudo=True)
        start = graph.add("start", "n2", resource="r", reason="recover")
        graph.edge(fence, implied)
        graph.edge(implied, start)
        actions = graph.linearize()
        assert [str(a) for a in actions] == ["fence n1", "start r on n2"]
        assert actions[1].after == (0,)

    def test_stops_come_before_unrelated_starts(self) -> None:
        graph = Graph()
        graph.add("start", "n1", resource="a", reason="")
        graph.add("stop", "n1", resource="b", reason="")
        assert [a.op for a in graph.linearize()] == ["stop", "start"]

    def test_a_loop_of_optional_edges_is_broken_quietly(self) -> None:
        graph = Graph()
        a = graph.add("start", "n1", resource="a", reason="")
        b = graph.add("start", "n1", resource="b", reason="")
        graph.edge(a, b, optional=True)
        graph.edge(b, a, optional=True)
        assert len(graph.linearize()) == 2
        assert graph.warnings == []

    def test_a_mandatory_loop_is_reported(self) -> None:
        graph = Graph()
        a = graph.add("start", "n1", resource="a", reason="")
        b = graph.add("start", "n1", resource="b", reason="")
        graph.edge(a, b)
        graph.edge(b, a)
        assert len(graph.linearize()) == 2
        assert graph.warnings and "ordering loop" in graph.warnings[0]
