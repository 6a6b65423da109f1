"""The fence runner with real driver processes: topology, retries, timeouts and secrets."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import structlog

from reconciler.fencing import FenceOutcome, fence_node
from reconciler.model.kinds import FenceDevice
from tests.fencing.devices import device, write_driver
from tests.fencing.processes import PROMPT, Processes, alive, unique
from tests.waiting import eventually, wait_until

Locate = Callable[[str], Path | None]


@pytest.fixture
def locate(tmp_path: Path) -> Locate:
    scripted = write_driver(tmp_path)
    return lambda name: scripted if name == "scripted" else None


@pytest.fixture
def calls(tmp_path: Path) -> Path:
    """The file the scripted driver logs `device action port` lines to."""
    return tmp_path / "calls.log"


async def fence(
    devices: list[FenceDevice],
    locate: Locate,
    *,
    node: str = "n1",
    **kwargs: object,
) -> FenceOutcome:
    options: dict[str, object] = {"cluster": "test", "retry_delay": 0.0} | kwargs
    return await fence_node(node, devices, locate=locate, **options)  # type: ignore[arg-type]


def logged(calls: Path) -> list[str]:
    return calls.read_text().splitlines() if calls.exists() else []


class TestTopology:
    """Levels in order; every device of a level must succeed; the first good level wins."""

    async def test_level_2_is_tried_when_level_1_fails(self, locate: Locate, calls: Path) -> None:
        devices = [
            device("backup", level=2, log=str(calls)),
            device("ipmi", level=1, log=str(calls), exit=1),
        ]
        outcome = await fence(devices, locate, retries=0)
        assert outcome.succeeded
        assert (outcome.level, outcome.devices, outcome.device) == (2, ("backup",), "backup")
        assert logged(calls) == ["ipmi reboot n1", "backup reboot n1"]
        assert [(a.device, a.succeeded, a.exit_code) for a in outcome.attempts] == [
            ("ipmi", False, 1),
            ("backup", True, 0),
        ]

    async def test_every_device_of_a_level_must_succeed(self, locate: Locate, calls: Path) -> None:
        devices = [
            device("a", level=1, log=str(calls)),
            device("b", level=1, log=str(calls), exit=1),
            device("c", level=1, log=str(calls)),
            device("d", level=2, log=str(calls)),
        ]
        outcome = await fence(devices, locate, action="off", retries=0)
        assert (outcome.succeeded, outcome.level) == (True, 2)
        assert logged(calls) == ["a off n1", "b off n1", "d off n1"]

    async def test_reboot_of_a_level_of_several_is_all_off_then_all_on(
        self, locate: Locate, calls: Path
    ) -> None:
        devices = [
            device("pdu-b", log=str(calls), fail_on="on"),
            device("pdu-a", log=str(calls)),
        ]
        outcome = await fence(devices, locate, retries=0)
        assert logged(calls) == ["pdu-a off n1", "pdu-b off n1", "pdu-a on n1", "pdu-b on n1"]
        assert outcome.succeeded, "a failed `on` does not undo a fencing"
        assert (outcome.action, outcome.device) == ("reboot", "pdu-a+pdu-b")

    async def test_only_devices_listing_the_node_are_used(
        self, locate: Locate, calls: Path
    ) -> None:
        devices = [device("other", nodes=("n2",), log=str(calls)), device("mine", log=str(calls))]
        assert (await fence(devices, locate)).devices == ("mine",)
        assert logged(calls) == ["mine reboot n1"]

    async def test_no_device_for_the_node(self, locate: Locate) -> None:
        outcome = await fence([device("x", nodes=("n2",))], locate)
        assert not outcome.succeeded
        assert outcome.reason == "no FenceDevice can fence n1"
        assert outcome.attempts == ()

    async def test_a_missing_driver_fails_its_level_only(self, locate: Locate, calls: Path) -> None:
        devices = [
            device("gone", driver="fence_nonexistent", level=1),
            device("ok", level=2, log=str(calls)),
        ]
        outcome = await fence(devices, locate)
        assert (outcome.succeeded, outcome.level) == (True, 2)
        assert outcome.attempts[0].error == "driver fence_nonexistent not found"

    async def test_failure_is_recorded_with_a_reason(self, locate: Locate) -> None:
        outcome = await fence([device("bad", exit=3)], locate, retries=0)
        assert not outcome.succeeded
        assert (outcome.level, outcome.devices, outcome.device) == (None, (), None)
        assert (
            outcome.reason == "1 of 1 levels tried, none fenced n1; last: bad (reboot): exit code 3"
        )
        record = json.loads(json.dumps(outcome.to_record()))
        assert record["attempts"][0]["exitCode"] == 3
        assert outcome.started <= outcome.finished


class TestRetries:
    """A failing device is retried a bounded number of times within its timeout."""

    async def test_a_transient_failure_is_retried(self, locate: Locate, tmp_path: Path) -> None:
        flaky = device("flaky", fail_times=1, counter=str(tmp_path / "count"))
        outcome = await fence([flaky], locate, retries=2)
        assert outcome.succeeded
        assert [(a.number, a.succeeded) for a in outcome.attempts] == [(1, False), (2, True)]
        assert "transient failure" in outcome.attempts[0].stdout

    async def test_retries_are_bounded(self, locate: Locate, calls: Path) -> None:
        outcome = await fence([device("broken", exit=1, log=str(calls))], locate, retries=2)
        assert not outcome.succeeded
        assert len(logged(calls)) == 3


class TestTimeouts:
    """A driver past its timeout dies with its process group, unretried; no time, no run."""

    async def test_timeout_kills_the_driver_and_its_grandchild(
        self, locate: Locate, tmp_path: Path, procs: Processes
    ) -> None:
        pidfile = tmp_path / "hang.pids"
        hang = device("hang", hang=True, pidfile=str(pidfile), token=procs.token)
        started = time.monotonic()

        outcome = await fence([hang], locate, device_timeout=1.5, retries=2)

        assert time.monotonic() - started < 5
        driver, grandchild = map(int, pidfile.read_text().split())
        procs.pids.append(grandchild)
        assert not outcome.succeeded
        [attempt] = outcome.attempts
        assert attempt.timed_out
        assert "process group was killed" in (attempt.error or "")
        wait_until(lambda: not alive(grandchild), within=5, what="grandchild gone")
        assert not alive(driver)

    async def test_total_timeout_bounds_the_whole_fencing(
        self, locate: Locate, tmp_path: Path, procs: Processes
    ) -> None:
        devices = [
            device(
                f"hang{level}",
                level=level,
                hang=True,
                token=procs.token,
                pidfile=str(tmp_path / f"{level}.pids"),
            )
            for level in (1, 2)
        ]
        started = time.monotonic()
        outcome = await fence(devices, locate, total_timeout=1.5)
        for level in (1, 2):
            if (tmp_path / f"{level}.pids").exists():
                procs.pids += map(int, (tmp_path / f"{level}.pids").read_text().split())
        assert time.monotonic() - started < 5
        assert not outcome.succeeded
        assert [a.device for a in outcome.attempts] == ["hang1"]

    async def test_no_time_left_is_a_recorded_failure(self, locate: Locate, calls: Path) -> None:
        outcome = await fence([device("a", log=str(calls))], locate, device_timeout=0.0)
        assert outcome.attempts[0].error == "no time left: its timeout or the total ran out"
        outcome = await fence([device("a", log=str(calls))], locate, total_timeout=0.0)
        assert outcome.reason == "out of time before any device ran"
        assert logged(calls) == []


class TestSecrets:
    """A password reaches the driver and nothing else: not the outcome, output or logs."""

    async def test_inline_password_is_masked_everywhere(
        self, locate: Locate, tmp_path: Path
    ) -> None:
        secret = unique("hunter2-")
        dump = tmp_path / "stdin"
        devices = [
            device("leaky", level=1, echo=True, dump=str(dump), password=secret, exit=1),
            device("echo", level=2, echo=True, passwd=secret, api_token=secret + "x"),
        ]
        with structlog.testing.capture_logs() as logs:
            outcome = await fence(devices, locate, retries=0)

        assert f"password={secret}" in dump.read_text(), "the driver got the real password"
        assert outcome.succeeded
        assert "password=***" in outcome.attempts[0].stdout
        assert "passwd=***" in outcome.attempts[1].stderr
        assert "cluster=test" in outcome.attempts[1].stdout
        everything = repr(outcome) + json.dumps(outcome.to_record()) + repr(logs)
        assert secret not in everything
        assert any(entry["event"] == "fence.attempt_failed" for entry in logs)

    async def test_password_file_is_read_and_sent_as_password(
        self, locate: Locate, tmp_path: Path
    ) -> None:
        secret = unique("from-file-")
        secret_file = tmp_path / "ipmi.pw"
        secret_file.write_text(secret + "\n")
        secret_file.chmod(0o600)
        dump = tmp_path / "stdin"
        dev = device("ipmi", echo=True, dump=str(dump), password_file=str(secret_file))
        outcome = await fence([dev], locate)
        assert outcome.succeeded
        assert f"password={secret}\n" in dump.read_text()
        assert "password_file=" not in dump.read_text()
        assert secret not in repr(outcome)

    async def test_a_password_file_others_can_read_is_refused(
        self, locate: Locate, tmp_path: Path, calls: Path
    ) -> None:
        secret_file = tmp_path / "ipmi.pw"
        secret_file.write_text("s3cret")
        secret_file.chmod(0o644)
        dev = device("ipmi", password_file=str(secret_file), log=str(calls))
        outcome = await fence([dev], locate)
        assert not outcome.succeeded
        assert outcome.attempts[0].error == (
            f"param password_file: {secret_file} is readable by group or others"
        )
        assert logged(calls) == []

    @pytest.mark.parametrize(
        ("params", "error"),
        [
            ({"ip": "10.0.0.1\naction=on"}, "param ip contains a line break or NUL byte"),
            ({"action": "on"}, "param action is reserved: hactl sets it"),
            ({"port": "3"}, "a port or plug param is only allowed on a device for one node"),
        ],
    )
    async def test_unsafe_params_are_refused_before_running(
        self, locate: Locate, calls: Path, params: dict[str, str], error: str
    ) -> None:
        dev = device("pdu", nodes=("n1", "n2"), log=str(calls), extra=params)
        outcome = await fence([dev], locate)
        assert outcome.attempts[0].error == error
        assert logged(calls) == []


class TestDriverProcess:
    """A driver that cannot run fails its attempt; a cancelled fencing kills its driver."""

    async def test_a_driver_that_cannot_be_executed(self, tmp_path: Path) -> None:
        script = tmp_path / "not-executable"
        script.write_text("#!/bin/sh\nexit 0\n")
        outcome = await fence([device("x")], lambda name: script)
        assert not outcome.succeeded
        assert outcome.attempts[0].error == f"cannot run {script}: Permission denied"
        assert len(outcome.attempts) == 1

    async def test_cancelling_the_fencing_kills_the_driver_group(
        self, locate: Locate, tmp_path: Path, procs: Processes
    ) -> None:
        pidfile = tmp_path / "hang.pids"
        hang = device("hang", hang=True, pidfile=str(pidfile), token=procs.token)
        task = asyncio.create_task(fence([hang], locate))

        async def started() -> bool:
            return pidfile.exists()

        await eventually(started, within=PROMPT, what="driver started")
        driver, grandchild = map(int, pidfile.read_text().split())
        procs.pids.append(grandchild)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        wait_until(lambda: not alive(driver) and not alive(grandchild), within=5, what="killed")


class TestWithFenceProcess:
    """The runner and fence_process together fence a node of a one-machine cluster."""

    async def test_fences_the_node_of_its_cluster_only(self, procs: Processes) -> None:
        node, cluster, elsewhere = unique("n"), unique("c"), unique("c")
        victims = [procs.agent(node, cluster), procs.marked(node, cluster)]
        survivor = procs.marked(node, elsewhere)
        process = device("local", driver="fence_process", nodes=(node,))

        outcome = await fence_node(node, [process], cluster=cluster)

        assert outcome.succeeded, outcome.attempts
        assert "Success: Powered OFF (2 processes killed" in outcome.attempts[0].stdout
        assert not any(alive(pid) for pid in victims)
        assert alive(survivor)
