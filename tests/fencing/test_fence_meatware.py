"""fence_meatware: the confirmation handshake through its directory."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

from tests.fencing.processes import (
    FENCE_MEATWARE,
    PROMPT,
    clean_env,
    options,
    run_driver,
    unique,
)
from tests.waiting import wait_until


def confirm(directory: Path, node: str, text: str = "confirmed_by=tester\n") -> None:
    """What `hactl fence confirm` does: write a dot-file, rename it to the node's name."""
    temporary = directory / f".{node}.confirm"
    temporary.write_text(text)
    temporary.rename(directory / node)


def start(directory: Path, node: str, timeout: str = "10") -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [str(FENCE_MEATWARE)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    assert process.stdin is not None
    process.stdin.write(
        options(action="off", port=node, confirm_dir=str(directory), confirm_timeout=timeout)
    )
    process.stdin.close()
    return process


class TestHandshake:
    """off waits for a confirmation made after its request, consumes it, and cleans up."""

    def test_times_out_without_confirmation(self, tmp_path: Path) -> None:
        node, directory = unique("n"), tmp_path / "meatware"
        stdin = options(action="off", port=node, confirm_dir=str(directory), confirm_timeout="0.3")
        result = run_driver(FENCE_MEATWARE, stdin)
        assert result.returncode == 1
        assert f"no confirmation for {node}" in result.stderr
        assert list(directory.iterdir()) == []
        assert directory.stat().st_mode & 0o777 == 0o700

    def test_succeeds_when_confirmed_after_the_request(self, tmp_path: Path) -> None:
        node, directory = unique("n"), tmp_path / "meatware"
        process = start(directory, node)
        try:
            request = directory / f"{node}.request"
            wait_until(request.exists, within=PROMPT, what="request file")
            assert f"pid={process.pid}" in request.read_text().splitlines()
            confirm(directory, node)
            code = process.wait(PROMPT)
        finally:
            process.kill()
            process.wait()
        assert process.stdout is not None
        assert code == 0
        assert "confirmed_by=tester" in process.stdout.read()
        assert list(directory.iterdir()) == []

    def test_a_confirmation_from_before_the_request_is_discarded(self, tmp_path: Path) -> None:
        node, directory = unique("n"), tmp_path / "meatware"
        directory.mkdir(mode=0o700)
        confirm(directory, node)
        stdin = options(
            action="reboot", plug=node, confirm_dir=str(directory), confirm_timeout="0.3"
        )
        result = run_driver(FENCE_MEATWARE, stdin)
        assert result.returncode == 1
        assert "discarded an earlier confirmation" in result.stderr
        assert not (directory / node).exists()

    def test_sigterm_removes_the_request(self, tmp_path: Path) -> None:
        node, directory = unique("n"), tmp_path / "meatware"
        process = start(directory, node)
        try:
            wait_until((directory / f"{node}.request").exists, within=PROMPT, what="request")
            process.send_signal(signal.SIGTERM)
            process.wait(PROMPT)
        finally:
            process.kill()
            process.wait()
        assert process.returncode == 1
        assert list(directory.iterdir()) == []


class TestSafety:
    """A directory others could write to, or a node name that is a path, is refused."""

    def test_refuses_a_directory_others_can_write(self, tmp_path: Path) -> None:
        directory = tmp_path / "open"
        directory.mkdir()
        os.chmod(directory, 0o777)
        stdin = options(action="off", port="n1", confirm_dir=str(directory), confirm_timeout="5")
        result = run_driver(FENCE_MEATWARE, stdin)
        assert result.returncode == 1
        assert "writable by it alone" in result.stderr

    def test_refuses_a_node_name_that_is_a_path(self, tmp_path: Path) -> None:
        stdin = options(action="off", port="../etc", confirm_dir=str(tmp_path / "m"))
        result = run_driver(FENCE_MEATWARE, stdin)
        assert result.returncode == 1
        assert "cannot name a confirmation file" in result.stderr


class TestOtherActions:
    """status never reports a node off; on and monitor succeed; metadata is XML."""

    def test_status_is_on(self, tmp_path: Path) -> None:
        stdin = options(action="status", port="n1", confirm_dir=str(tmp_path / "m"))
        assert run_driver(FENCE_MEATWARE, stdin).returncode == 0

    def test_on_and_monitor(self, tmp_path: Path) -> None:
        directory = str(tmp_path / "m")
        assert (
            run_driver(
                FENCE_MEATWARE, options(action="on", port="n1", confirm_dir=directory)
            ).returncode
            == 0
        )
        assert (
            run_driver(FENCE_MEATWARE, options(action="monitor", confirm_dir=directory)).returncode
            == 0
        )

    def test_metadata(self) -> None:
        import xml.etree.ElementTree as ET

        result = run_driver(FENCE_MEATWARE, options(action="metadata"))
        root = ET.fromstring(result.stdout.split("\n", 1)[1])
        assert root.get("name") == "fence_meatware"
        assert {p.get("name") for p in root.iter("parameter")} >= {"confirm_dir", "confirm_timeout"}
