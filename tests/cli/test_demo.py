"""The README's first command: the demo cluster runs as real agents and converges."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from reconciler.locate import PROJECT_ROOT
from tests.cli.conftest import Hactl


class TestDemo:
    """`./dev demo` starts the agents of manifests/demo, converges, and stops them cleanly."""

    def test_readme_command(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [
                str(PROJECT_ROOT / "dev"),
                "demo",
                "--workdir",
                str(tmp_path),
                "--exit-when-converged",
                "--timeout",
                "60",
            ],
            capture_output=True,
            text=True,
            timeout=100,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "demo: converged" in done.stdout
        assert "Traceback" not in done.stderr
        for node in ("node1", "node2", "node3"):
            assert '"agent.exit"' in (tmp_path / f"{node}.log").read_text()

    def test_diff_after_demo_then_edit(self, hactl: Hactl) -> None:
        demo = hactl("demo", "--exit-when-converged", "--workdir", str(hactl.workdir / "run"))
        assert demo.exit_code == 0, demo.stdout
        copy = hactl.workdir / "demo"
        shutil.copytree(PROJECT_ROOT / "manifests" / "demo", copy)
        assert hactl("diff", "-f", str(copy)).exit_code == 0
        db = copy / "db.yaml"
        text = db.read_text()
        edited = "- {name: monitor, interval: 7s, timeout: 10s}"
        assert text.count("- {name: monitor, interval: 5s, timeout: 10s}\n") == 1
        db.write_text(text.replace("- {name: monitor, interval: 5s, timeout: 10s}", edited))
        diff = hactl("diff", "-f", str(copy))
        assert diff.exit_code == 1
        changed = [
            line
            for line in diff.stdout.splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        ]
        assert changed == ["-    interval: 5s", "+    interval: 7s"]
        assert "--- store/Resource/db" in diff.stdout
