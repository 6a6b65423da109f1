"""validate / apply / diff / get / delete / history / rollback as a CI pipeline uses them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.cli.conftest import Hactl

CLUSTER = """\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {name: demo}
spec:
  timing: {keepalive: 200ms, warntime: 500ms, deadtime: 1s, initdeadtime: 30s}
"""
NODES = """\
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: node1}
---
apiVersion: hactl/v1alpha1
kind: Node
metadata: {name: node2}
"""
RESOURCES = """\
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: web}
spec: {agent: "hactl:Dummy", params: {state: /tmp/web}}
---
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {name: db}
spec: {agent: "hactl:Dummy"}
---
apiVersion: hactl/v1alpha1
kind: Group
metadata: {name: app}
spec: {resources: [db, web]}
---
apiVersion: hactl/v1alpha1
kind: FenceDevice
metadata: {name: power}
spec:
  driver: fence_ipmilan
  nodes: [node1, node2]
  params: {ip: 198.18.0.50, username: admin, password: s3cret-value}
"""


def cluster_dir(hactl: Hactl) -> Path:
    hactl.write("cluster/cluster.yaml", CLUSTER)
    hactl.write("cluster/nodes.yaml", NODES)
    hactl.write("cluster/resources.yaml", RESOURCES)
    return hactl.workdir / "cluster"


class TestValidate:
    """validate checks without touching the store, exit 0 or 2."""

    def test_valid_directory(self, hactl: Hactl) -> None:
        result = hactl("validate", "-f", str(cluster_dir(hactl)))
        assert result.exit_code == 0
        assert "7 documents in 3 files are valid" in result.stdout
        assert "warning" in result.stderr

    def test_errors_exit_2_one_line_each(self, hactl: Hactl) -> None:
        path = hactl.write("bad.yaml", RESOURCES.replace("[db, web]", "[db, ghost]"))
        result = hactl("validate", "-f", str(path))
        assert result.exit_code == 2
        errors = [line for line in result.stderr.splitlines() if "warning" not in line]
        assert errors == ["bad.yaml:14: Group/app: spec.resources[1]: no Resource named 'ghost'"]

    def test_json(self, hactl: Hactl) -> None:
        result = hactl("validate", "-f", str(cluster_dir(hactl)), "-o", "json")
        body = json.loads(result.stdout)
        assert body["valid"] is True and body["documents"] == 7


class TestApplyAndDiff:
    """An apply is one generation; afterwards diff is empty; an edit shows exactly itself."""

    def test_apply_then_diff_is_empty(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        result = hactl("apply", "-f", str(path))
        assert result.exit_code == 0, result.stderr
        assert "generation 1 applied" in result.stdout
        assert "Resource/web created" in result.stdout
        diff = hactl("diff", "-f", str(path))
        assert (diff.exit_code, diff.stdout) == (0, "")

    def test_edit_shows_exactly_that_change(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        edited = RESOURCES.replace("state: /tmp/web", "state: /tmp/web2")
        hactl.write("cluster/resources.yaml", edited)
        diff = hactl("diff", "-f", str(path))
        assert diff.exit_code == 1
        changed = [
            line
            for line in diff.stdout.splitlines()
            if line.startswith(("+", "-")) and not line.startswith(("+++", "---"))
        ]
        assert changed == ["-    state: /tmp/web", "+    state: /tmp/web2"]
        assert "--- store/Resource/web" in diff.stdout

    def test_reapply_unchanged_makes_no_generation(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        revision = hactl.revision()
        again = hactl("apply", "-f", str(path))
        assert "no changes; generation 1 is current" in again.stdout
        assert hactl.revision() == revision

    def test_dry_run_writes_nothing(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        revision = hactl.revision()
        result = hactl("apply", "-f", str(path), "--dry-run")
        assert "Resource/web created (dry run)" in result.stdout
        assert hactl.revision() == revision

    def test_bad_input_changes_nothing(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        revision = hactl.revision()
        hactl.write("cluster/broken.yaml", "apiVersion: hactl/v1alpha1\nkind: Node\nmetadata: {}\n")
        result = hactl("apply", "-f", str(path))
        assert result.exit_code == 2
        assert "cluster/broken.yaml:3: Node: metadata.name: is required" in result.stderr
        assert "Traceback" not in result.stderr
        assert hactl.revision() == revision

    def test_without_prune_objects_are_kept(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        (path / "nodes.yaml").write_text(NODES.split("---")[0])
        result = hactl("apply", "-f", str(path))
        assert "1 object(s) in the store are not in these files" in result.stdout
        assert hactl("get", "node", "node2").exit_code == 0

    def test_prune_deletes_and_refuses_large_deletions(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        (path / "nodes.yaml").write_text(NODES.split("---")[0])
        result = hactl("apply", "-f", str(path), "--prune")
        assert "Node/node2 deleted" in result.stdout
        revision = hactl.revision()
        only = hactl.write("only.yaml", CLUSTER)
        refused = hactl("apply", "-f", str(only), "--prune")
        assert refused.exit_code == 2
        assert "--prune would delete 5 of 6 declared objects" in refused.stderr
        assert hactl.revision() == revision
        assert hactl("apply", "-f", str(only), "--prune", "--confirm").exit_code == 0

    def test_merged_state_is_checked(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        other = hactl.write(
            "other.yaml",
            "apiVersion: hactl/v1alpha1\nkind: Group\nmetadata: {name: second}\n"
            "spec: {resources: [web]}\n---\n" + RESOURCES.split("---")[0],
        )
        result = hactl("apply", "-f", str(other))
        assert result.exit_code == 2
        assert "'web' is already in group" in result.stderr

    def test_json_output(self, hactl: Hactl) -> None:
        result = hactl("apply", "-f", str(cluster_dir(hactl)), "-o", "json")
        body = json.loads(result.stdout)
        assert body["generation"] == 1
        assert "Resource/web" in body["created"]


class TestGetAndDelete:
    """get shows declared objects with secrets redacted; delete keeps references whole."""

    def test_get_redacts_passwords(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(cluster_dir(hactl)))
        for args in (("get", "fencedevice", "power"), ("get", "fencedevices", "-o", "json")):
            result = hactl(*args)
            assert result.exit_code == 0
            assert "s3cret-value" not in result.stdout
            assert "<redacted>" in result.stdout

    def test_get_unknown(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(cluster_dir(hactl)))
        assert hactl("get", "resource", "nope").exit_code == 2
        assert hactl("get", "pods").exit_code == 2

    def test_get_list_as_json(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(cluster_dir(hactl)))
        body = json.loads(hactl("get", "resources", "-o", "json").stdout)
        assert [item["metadata"]["name"] for item in body["items"]] == ["db", "web"]

    def test_delete_refuses_dangling_reference(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(cluster_dir(hactl)))
        revision = hactl.revision()
        result = hactl("delete", "resource", "web")
        assert result.exit_code == 2
        assert "no Resource named 'web'" in result.stderr
        assert hactl.revision() == revision

    def test_delete(self, hactl: Hactl) -> None:
        hactl("apply", "-f", str(cluster_dir(hactl)))
        result = hactl("delete", "group", "app")
        assert result.exit_code == 0 and "generation 2" in result.stdout
        assert hactl("get", "group", "app").exit_code == 2


class TestHistoryAndRollback:
    """Every generation is kept with who, when and the git commit; rollback returns to one."""

    def test_history_records_git_commit_and_dirty_flag(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        git = ["git", "-C", str(hactl.workdir), "-c", "user.email=t@e", "-c", "user.name=t"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "."], check=True)
        subprocess.run([*git, "commit", "-qm", "x"], check=True)
        commit = subprocess.run(
            [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
        ).stdout.strip()
        hactl("apply", "-f", str(path))
        hactl.write("cluster/resources.yaml", RESOURCES.replace("/tmp/web", "/tmp/w"))
        hactl("apply", "-f", str(path))
        records = json.loads(hactl("history", "-o", "json").stdout)
        assert [r["generation"] for r in records] == [1, 2]
        assert records[0]["source"]["git"] == {
            "commit": commit,
            "dirty": False,
            "root": str(hactl.workdir.resolve()),
        }
        assert records[1]["source"]["git"]["dirty"] is True
        assert records[1]["changes"]["updated"] == ["Resource/web"]
        assert "@" in records[0]["by"]

    def test_rollback(self, hactl: Hactl) -> None:
        path = cluster_dir(hactl)
        hactl("apply", "-f", str(path))
        hactl.write("cluster/resources.yaml", RESOURCES.replace("/tmp/web", "/tmp/w"))
        hactl("apply", "-f", str(path))
        result = hactl("rollback", "1")
        assert result.exit_code == 0
        assert "generation 3 = generation 1" in result.stdout
        hactl.write("cluster/resources.yaml", RESOURCES)
        assert hactl("diff", "-f", str(path)).exit_code == 0
        assert hactl("rollback", "9").exit_code == 2


class TestRealProcess:
    """The installed `hactl` answers user mistakes with one line and no traceback."""

    def test_unknown_store_scheme(self, tmp_path: Path) -> None:
        done = subprocess.run(
            [sys.executable, "-m", "reconciler", "--store", "bogus://x", "get", "nodes"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 2
        assert done.stderr.count("\n") == 1 and "unknown scheme" in done.stderr
