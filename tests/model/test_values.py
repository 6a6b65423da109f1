"""Durations and Pacemaker scores, the value types of the manifest language."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reconciler.model.values import INFINITY, Duration, Score


class TestDuration:
    """Durations parse what operators write and print back canonically."""

    @pytest.mark.parametrize(
        ("text", "ms"),
        [
            ("200ms", 200),
            ("1s", 1000),
            ("2m", 120_000),
            ("1h", 3_600_000),
            ("1.5s", 1500),
            ("30", 30_000),
            (" 10s ", 10_000),
            ("0s", 0),
        ],
    )
    def test_parses_units(self, text: str, ms: int) -> None:
        assert Duration.parse(text).milliseconds == ms

    @pytest.mark.parametrize("text", ["", "1x", "-1s", "s", "1 s s", "1e3s", "inf", "1s; rm -rf /"])
    def test_rejects_malformed(self, text: str) -> None:
        with pytest.raises(ValueError):
            Duration.parse(text)

    @pytest.mark.parametrize(
        ("ms", "text"), [(200, "200ms"), (1000, "1s"), (1500, "1500ms"), (120_000, "2m"), (0, "0s")]
    )
    def test_prints_canonically(self, ms: int, text: str) -> None:
        assert str(Duration(ms)) == text

    @given(st.integers(min_value=0, max_value=10**10))
    def test_round_trips(self, ms: int) -> None:
        assert Duration.parse(str(Duration(ms))) == Duration(ms)

    def test_orders(self) -> None:
        assert Duration.parse("200ms") < Duration.parse("1s") <= Duration.parse("1000ms")


class TestScore:
    """Scores follow Pacemaker's arithmetic: saturating, and -INFINITY wins."""

    def test_infinity_plus_minus_infinity_is_minus_infinity(self) -> None:
        assert Score(INFINITY) + Score(-INFINITY) == -INFINITY
        assert Score(-INFINITY) + Score(INFINITY) == -INFINITY

    def test_saturates(self) -> None:
        assert Score(999_999) + 5 == INFINITY
        assert Score(-999_999) + -5 == -INFINITY
        assert Score(5_000_000) == INFINITY

    def test_finite_addition(self) -> None:
        assert Score(100) + Score(-30) == 70
        assert 5 + Score(10) == 15

    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("INFINITY", INFINITY),
            ("+INFINITY", INFINITY),
            ("-INFINITY", -INFINITY),
            ("-infinity", -INFINITY),
            ("100", 100),
            ("-5", -5),
            (42, 42),
        ],
    )
    def test_parses(self, text: str | int, value: int) -> None:
        assert Score.parse(text) == value

    @pytest.mark.parametrize("text", ["inf", "1.5", "", "INFINITY!", "1e3"])
    def test_rejects_malformed(self, text: str) -> None:
        with pytest.raises(ValueError):
            Score.parse(text)

    def test_renders_infinity_as_word(self) -> None:
        assert Score(INFINITY).to_manifest() == "INFINITY"
        assert Score(-INFINITY).to_manifest() == "-INFINITY"
        assert Score(7).to_manifest() == 7

    @given(st.lists(st.integers(min_value=-(10**7), max_value=10**7), max_size=8))
    def test_sum_stays_in_bounds_and_minus_infinity_dominates(self, terms: list[int]) -> None:
        total = Score(0)
        for term in terms:
            total = total + Score(term)
        assert -INFINITY <= total <= INFINITY
        if any(t <= -INFINITY for t in terms):
            assert total == -INFINITY
