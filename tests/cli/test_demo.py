"""The README's first command: the demo cluster is validated, applied, and diff is empty."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from reconciler.locate import PROJECT_ROOT
from tests.cli.conftest import Hactl


class TestDemo:
    """`./dev demo` applies manifests/demo; afterwards `diff` is empty and an edit shows."""

    def test_readme_command(self, tmp_path: Path) -> None:
        store = f"sqlite://{tmp_path}/demo.db"
        done = subprocess.run(
            [str(PROJECT_ROOT / "dev"), "demo", "--store", store],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "diff after apply is empty" in done.stdout
        assert "Traceback" not in done.stderr

    def test_diff_after_demo_then_edit(self, hactl: Hactl) -> None:
        assert hactl("demo").exit_code == 0
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
