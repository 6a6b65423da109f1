"""Lints of watchdog fencing and of deadtime on etcd: warnings, never errors."""

from __future__ import annotations

from pathlib import Path

from reconciler.loader import load_report
from reconciler.loader.lints import LintContext


def cluster(timing: str, stonith: str = "{enabled: true}") -> str:
    return (
        "apiVersion: hactl/v1alpha1\nkind: Cluster\nmetadata: {name: c}\n"
        f"spec:\n  timing: {timing}\n  stonith: {stonith}\n"
    )


def warnings(tmp_path: Path, text: str, store_url: str | None = None) -> list[str]:
    path = tmp_path / "m.yaml"
    path.write_text(text)
    report = load_report([path], context=LintContext(store_url))
    assert not report.errors
    return [p.message for p in report.warnings]


TIMING = "{keepalive: 100ms, warntime: 300ms, deadtime: 1s, initdeadtime: 3s}"


class TestWatchdogLint:
    def test_twice_deadtime_passes(self, tmp_path: Path) -> None:
        found = warnings(tmp_path, cluster(TIMING, "{enabled: true, watchdogTimeout: 2s}"))
        assert not any("watchdogTimeout" in m for m in found)
        assert not any("no FenceDevice" in m for m in found)

    def test_firing_before_fail_fast_warns(self, tmp_path: Path) -> None:
        # The agent gives the lease up 750 ms after its last good refresh; a 1.4s
        # watchdogTimeout fires its node's watchdog after 700 ms.
        found = warnings(tmp_path, cluster(TIMING, "{enabled: true, watchdogTimeout: 1400ms}"))
        (message,) = [m for m in found if "watchdogTimeout" in m]
        assert "fires 0.7s after" in message and "use at least 2s" in message

    def test_just_past_fail_fast_passes(self, tmp_path: Path) -> None:
        found = warnings(tmp_path, cluster(TIMING, "{enabled: true, watchdogTimeout: 1600ms}"))
        assert not any("watchdogTimeout" in m for m in found)

    def test_no_effect_without_stonith(self, tmp_path: Path) -> None:
        found = warnings(tmp_path, cluster(TIMING, "{enabled: false, watchdogTimeout: 2s}"))
        assert any("no effect while stonith is disabled" in m for m in found)

    def test_without_devices_nor_watchdog_still_warns(self, tmp_path: Path) -> None:
        assert any("no FenceDevice" in m for m in warnings(tmp_path, cluster(TIMING)))


class TestEtcdDeadtimeLint:
    def test_fractional_deadtime_on_etcd(self, tmp_path: Path) -> None:
        timing = "{keepalive: 300ms, warntime: 1s, deadtime: 2500ms, initdeadtime: 10s}"
        found = warnings(tmp_path, cluster(timing), "etcd://127.0.0.1:2379")
        (message,) = [m for m in found if "whole number" in m]
        assert "noticed only after 3s" in message
        assert not any("minimum lease TTL" in m for m in found)

    def test_below_the_default_minimum_on_etcd(self, tmp_path: Path) -> None:
        found = warnings(tmp_path, cluster(TIMING), "etcd://127.0.0.1:2379")
        assert any("below etcd's minimum lease TTL" in m for m in found)
        assert not any("whole number" in m for m in found)

    def test_not_on_the_embedded_store(self, tmp_path: Path) -> None:
        timing = "{keepalive: 300ms, warntime: 1s, deadtime: 1500ms, initdeadtime: 10s}"
        for url in (None, "sqlite:///tmp/x.db"):
            found = warnings(tmp_path, cluster(timing), url)
            assert not any("etcd" in m for m in found)
