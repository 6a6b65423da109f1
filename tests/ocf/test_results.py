"""Exit codes: what each means, and what the reconciler makes of it."""

from __future__ import annotations

import pytest

from reconciler.ocf import OcfResult, Recovery, monitor_role
from reconciler.ocf.results import from_lsb_exit, from_ocf_exit


class TestOcfExitCodes:
    """Exit codes 0-9 keep their OCF meaning; anything else is a generic error."""

    @pytest.mark.parametrize("code", range(10))
    def test_codes_map_one_to_one(self, code: int) -> None:
        assert from_ocf_exit(code).value == code

    @pytest.mark.parametrize("code", [-9, 10, 42, 127, 255])
    def test_other_codes_are_generic_errors(self, code: int) -> None:
        assert from_ocf_exit(code) is OcfResult.ERR_GENERIC

    def test_every_result_has_a_meaning(self) -> None:
        assert OcfResult.NOT_RUNNING.meaning == "not running"
        assert OcfResult.TIMEOUT.meaning == "timed out"
        assert len({result.meaning for result in OcfResult}) == len(OcfResult)


class TestRecovery:
    """Pacemaker's recovery classes: soft restarts, hard bans this node, fatal stops everywhere."""

    @pytest.mark.parametrize(
        ("result", "recovery"),
        [
            (OcfResult.SUCCESS, Recovery.NONE),
            (OcfResult.NOT_RUNNING, Recovery.NONE),
            (OcfResult.RUNNING_PROMOTED, Recovery.NONE),
            (OcfResult.ERR_GENERIC, Recovery.SOFT),
            (OcfResult.FAILED_PROMOTED, Recovery.SOFT),
            (OcfResult.TIMEOUT, Recovery.SOFT),
            (OcfResult.ERR_ARGS, Recovery.HARD),
            (OcfResult.ERR_UNIMPLEMENTED, Recovery.HARD),
            (OcfResult.ERR_PERM, Recovery.HARD),
            (OcfResult.ERR_INSTALLED, Recovery.HARD),
            (OcfResult.ERR_CONFIGURED, Recovery.FATAL),
        ],
    )
    def test_class(self, result: OcfResult, recovery: Recovery) -> None:
        assert result.recovery is recovery
        assert result.is_error is (recovery is not Recovery.NONE)
        assert result.is_hard is (recovery in (Recovery.HARD, Recovery.FATAL))


class TestMonitorRole:
    """A monitor result says Started, Promoted, Stopped, or Failed (state unknown)."""

    def test_roles(self) -> None:
        assert monitor_role(OcfResult.SUCCESS) == "Started"
        assert monitor_role(OcfResult.RUNNING_PROMOTED) == "Promoted"
        assert monitor_role(OcfResult.NOT_RUNNING) == "Stopped"
        assert monitor_role(OcfResult.FAILED_PROMOTED) == "Failed"
        assert monitor_role(OcfResult.TIMEOUT) == "Failed"

    def test_not_installed_is_stopped_only_for_a_probe(self) -> None:
        assert monitor_role(OcfResult.ERR_INSTALLED, probe=True) == "Stopped"
        assert monitor_role(OcfResult.ERR_INSTALLED) == "Failed"
        assert monitor_role(OcfResult.ERR_CONFIGURED, probe=True) == "Failed"


class TestLsbExitCodes:
    """LSB status has its own codes; other actions share OCF's 0-7 (Pacemaker's rules)."""

    @pytest.mark.parametrize(
        ("code", "result"),
        [
            (0, OcfResult.SUCCESS),
            (1, OcfResult.NOT_RUNNING),
            (2, OcfResult.NOT_RUNNING),
            (3, OcfResult.NOT_RUNNING),
            (4, OcfResult.ERR_GENERIC),
            (150, OcfResult.ERR_INSTALLED),
            (151, OcfResult.ERR_PERM),
            (8, OcfResult.ERR_GENERIC),
        ],
    )
    def test_status(self, code: int, result: OcfResult) -> None:
        assert from_lsb_exit("monitor", code) is result

    @pytest.mark.parametrize("action", ["start", "stop"])
    def test_other_actions(self, action: str) -> None:
        assert from_lsb_exit(action, 0) is OcfResult.SUCCESS
        assert from_lsb_exit(action, 5) is OcfResult.ERR_INSTALLED
        assert from_lsb_exit(action, 7) is OcfResult.NOT_RUNNING
        assert from_lsb_exit(action, 8) is OcfResult.ERR_GENERIC
