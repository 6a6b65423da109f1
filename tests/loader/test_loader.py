"""Loading manifests: every problem is one line naming file:line, object and field."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from reconciler.loader import ManifestError, load_paths, load_report

CLUSTER = """\
apiVersion: hactl/v1alpha1
kind: Cluster
metadata: {name: c}
spec:
  timing: {keepalive: 200ms, warntime: 500ms, deadtime: 1s, initdeadtime: 30s}
"""


def resource(name: str, agent: str = "hactl:Dummy") -> str:
    return f"""\
apiVersion: hactl/v1alpha1
kind: Resource
metadata: {{name: {name}}}
spec: {{agent: "{agent}"}}
"""


def doc(kind: str, name: str, spec: str) -> str:
    return f"apiVersion: hactl/v1alpha1\nkind: {kind}\nmetadata: {{name: {name}}}\nspec: {spec}\n"


def write(tmp_path: Path, text: str, name: str = "m.yaml") -> Path:
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def errors_of(path: Path) -> list[str]:
    return [str(p) for p in load_report([path]).errors]


class TestValidManifests:
    """Well-formed manifests load into a DeclaredState with their sources."""

    def test_many_documents_and_sources(self, tmp_path: Path) -> None:
        path = write(tmp_path, "---\n".join([CLUSTER, resource("a"), resource("b")]))
        state = load_paths([path])
        assert sorted(state.resources) == ["a", "b"]
        assert state.cluster.metadata.name == "c"
        source = state.source_of("Resource", "b")
        assert source is not None and source.line == 12

    def test_directories_recursively_in_stable_order(self, tmp_path: Path) -> None:
        write(tmp_path, resource("z"), "b/z.yaml")
        write(tmp_path, resource("a"), "a/nested/a.yml")
        write(tmp_path, "not: a manifest", ".hidden/x.yaml")
        write(tmp_path, "ignored", "notes.txt")
        report = load_report([tmp_path])
        assert [f.removeprefix(f"{tmp_path}/") for f in report.files] == [
            "a/nested/a.yml",
            "b/z.yaml",
        ]
        assert [d.model.metadata.name for d in report.documents] == ["a", "z"]

    def test_empty_documents_are_skipped(self, tmp_path: Path) -> None:
        path = write(tmp_path, "---\n" + resource("a") + "---\n---\n")
        assert list(load_paths([path]).resources) == ["a"]


class TestSchemaErrors:
    """Schema violations name the exact line and field."""

    def test_unknown_field(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Resource", "a", "\n  agent: hactl:Dummy\n  bogus: 1"))
        assert errors_of(path) == [f"{path}:6: Resource/a: spec.bogus: is not a known field"]

    def test_wrong_type_in_list(self, tmp_path: Path) -> None:
        spec = (
            "\n  agent: hactl:Dummy\n  ops:\n"
            "    - {name: monitor, interval: 10s}\n    - {name: stop, timeout: 20}"
        )
        path = write(tmp_path, doc("Resource", "a", spec))
        (error,) = errors_of(path)
        assert error.startswith(f"{path}:8: Resource/a: spec.ops[1].timeout: ")

    def test_unknown_kind_and_api_version(self, tmp_path: Path) -> None:
        path = write(tmp_path, "apiVersion: hactl/v9\nkind: Resource\nmetadata: {name: a}\n")
        assert "unknown apiVersion 'hactl/v9'" in errors_of(path)[0]
        path = write(tmp_path, "apiVersion: hactl/v1alpha1\nkind: Pod\nmetadata: {name: a}\n")
        assert "unknown kind 'Pod'" in errors_of(path)[0]

    def test_missing_required(self, tmp_path: Path) -> None:
        path = write(tmp_path, "apiVersion: hactl/v1alpha1\nkind: Resource\nmetadata: {name: a}\n")
        assert errors_of(path) == [f"{path}:1: Resource/a: spec: is required"]

    def test_deadtime_not_greater_than_keepalive(self, tmp_path: Path) -> None:
        spec = "\n  timing: {keepalive: 2s, warntime: 2s, deadtime: 2s, initdeadtime: 30s}"
        path = write(tmp_path, doc("Cluster", "c", spec))
        (error,) = errors_of(path)
        assert "deadtime (2s) must be greater than timing.keepalive (2s)" in error

    def test_hostile_name(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Resource", '"; rm -rf /"', "{agent: hactl:Dummy}"))
        (error,) = errors_of(path)
        assert "metadata.name: must be a DNS-1123 label" in error


class TestCrossDocumentErrors:
    """References, duplicates, clashes and cycles across documents."""

    def test_dangling_group_member(self, tmp_path: Path) -> None:
        path = write(
            tmp_path, resource("a") + "---\n" + doc("Group", "g", "{resources: [a, nope]}")
        )
        assert errors_of(path) == [
            f"{path}:9: Group/g: spec.resources[1]: no Resource named 'nope'"
        ]

    def test_dangling_constraint_target(self, tmp_path: Path) -> None:
        text = (
            resource("a") + "---\n" + doc("Colocation", "c", "{resource: a, with: ghost, score: 5}")
        )
        (error,) = errors_of(write(tmp_path, text))
        assert "Colocation/c: spec.with: no Resource or Group named 'ghost'" in error

    def test_duplicate_names(self, tmp_path: Path) -> None:
        path = write(tmp_path, resource("a") + "---\n" + resource("a"))
        assert errors_of(path) == [f"{path}:6: Resource/a: declared twice (also at {path}:1)"]

    def test_node_names_differing_by_case(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Node", "node1", "{}") + "---\n" + doc("Node", "Node1", "{}"))
        (error,) = errors_of(path)
        assert "Node/Node1" in error and "only by case" in error

    def test_resource_in_two_groups(self, tmp_path: Path) -> None:
        text = "---\n".join(
            [
                resource("a"),
                doc("Group", "g1", "{resources: [a]}"),
                doc("Group", "g2", "{resources: [a]}"),
            ]
        )
        (error,) = errors_of(write(tmp_path, text))
        assert "Group/g2: spec.resources[0]: 'a' is already in group 'g1'" in error

    def test_mandatory_order_cycle(self, tmp_path: Path) -> None:
        text = "---\n".join(
            [
                resource("a"),
                resource("b"),
                resource("c"),
                doc("Order", "ab", "{first: a, then: b}"),
                doc("Order", "bc", "{first: b, then: c}"),
                doc("Order", "ca", "{first: c, then: a}"),
            ]
        )
        (error,) = errors_of(write(tmp_path, text))
        assert "Mandatory order cycle: a -> b -> c -> a" in error

    def test_optional_orders_may_cycle(self, tmp_path: Path) -> None:
        text = "---\n".join(
            [
                resource("a"),
                resource("b"),
                doc("Order", "ab", "{first: a, then: b}"),
                doc("Order", "ba", "{first: b, then: a, kind: Optional}"),
            ]
        )
        assert errors_of(write(tmp_path, text)) == []

    def test_more_than_one_cluster(self, tmp_path: Path) -> None:
        text = CLUSTER + "---\n" + CLUSTER.replace("name: c", "name: d")
        (error,) = errors_of(write(tmp_path, text))
        assert "more than one Cluster" in error

    def test_broken_resource_is_not_reported_again_as_missing(self, tmp_path: Path) -> None:
        text = (
            doc("Resource", "a", "{agent: nope}") + "---\n" + doc("Group", "g", "{resources: [a]}")
        )
        (error,) = errors_of(write(tmp_path, text))
        assert "spec.agent" in error

    def test_load_paths_raises_with_every_problem(self, tmp_path: Path) -> None:
        text = doc("Group", "g", "{resources: [x, y]}")
        with pytest.raises(ManifestError) as caught:
            load_paths([write(tmp_path, text)])
        assert len(caught.value.lines()) == 2
        assert caught.value.exit_code == 2


class TestHostileYaml:
    """Input that could crash or exhaust a loader is refused with one line."""

    def test_malformed_yaml(self, tmp_path: Path) -> None:
        (error,) = errors_of(write(tmp_path, "a: [1, 2\nb: 3\n"))
        assert error.startswith(f"{tmp_path}/m.yaml:") and "invalid YAML" in error

    def test_python_tag(self, tmp_path: Path) -> None:
        path = write(tmp_path, '!!python/object/apply:os.system ["touch /tmp/pwned"]\n')
        (error,) = errors_of(path)
        assert "YAML tag" in error and "not allowed" in error

    def test_alias_bomb(self, tmp_path: Path) -> None:
        lines = ['a0: &a0 ["x","x","x","x","x","x","x","x","x","x"]']
        for i in range(1, 9):
            lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * 10)}]")
        (error,) = errors_of(write(tmp_path, "\n".join(lines) + "\n"))
        assert "alias bomb" in error

    def test_deep_nesting(self, tmp_path: Path) -> None:
        (error,) = errors_of(write(tmp_path, "a: " + "[" * 500 + "]" * 500 + "\n"))
        assert "nested" in error

    def test_nul_byte(self, tmp_path: Path) -> None:
        path = tmp_path / "m.yaml"
        path.write_bytes(b"apiVersion: hactl/v1alpha1\nkind: Node\x00\n")
        assert errors_of(path) == [f"{path}:2: file contains a NUL byte"]

    def test_not_utf8(self, tmp_path: Path) -> None:
        path = tmp_path / "m.yaml"
        path.write_bytes(b"kind: \xff\xfe\n")
        assert errors_of(path) == [f"{path}:1: file is not valid UTF-8"]

    def test_duplicate_keys(self, tmp_path: Path) -> None:
        (error,) = errors_of(write(tmp_path, "kind: Node\nkind: Resource\n"))
        assert "duplicate key" in error

    def test_dates_are_not_silently_converted(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Node", "n1", "{attributes: {since: 2024-01-01}}"))
        (error,) = errors_of(path)
        assert "quote it" in error

    def test_missing_path(self, tmp_path: Path) -> None:
        assert errors_of(tmp_path / "absent.yaml") == [
            f"{tmp_path}/absent.yaml: no such file or directory"
        ]


class TestLints:
    """Lints warn about risky but loadable configurations, and never fail."""

    def test_stonith_disabled_with_shared_storage(self, tmp_path: Path) -> None:
        text = (
            doc("Cluster", "c", "{stonith: {enabled: false}}")
            + "---\n"
            + resource("fs", "ocf:heartbeat:Filesystem")
        )
        report = load_report([write(tmp_path, text)])
        assert not report.errors
        messages = [p.message for p in report.warnings]
        assert any("stonith is disabled" in m for m in messages)
        assert any("shared storage" in m for m in messages)

    def test_missing_agent(self, tmp_path: Path) -> None:
        report = load_report([write(tmp_path, resource("a", "ocf:nobody:Nothing"))])
        assert any("not installed" in p.message for p in report.warnings)

    def test_inline_password(self, tmp_path: Path) -> None:
        text = doc(
            "FenceDevice", "f", "{driver: fence_ipmilan, nodes: [n1], params: {password: x}}"
        )
        report = load_report([write(tmp_path, text)])
        assert any("secret" in p.message for p in report.warnings)


class TestYamlDialect:
    """YAML 1.2 as operators expect it, whichever parser runs."""

    def test_flow_mapping_with_colons_in_agent(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Resource", "a", "{agent: ocf:heartbeat:IPaddr2}"))
        assert load_paths([path]).resources["a"].spec.agent == "ocf:heartbeat:IPaddr2"

    def test_on_off_are_strings(self, tmp_path: Path) -> None:
        path = write(tmp_path, doc("Node", "n1", "{attributes: {power: on, hex: 0x10}}"))
        assert load_paths([path]).nodes["n1"].spec.attributes == {"power": "on", "hex": 16}
