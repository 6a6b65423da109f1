"""Random and mutated input never crashes the loader: it loads, or it says why, per line."""

from __future__ import annotations

import copy
import io
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from reconciler.loader import load_report

VALID: list[dict[str, Any]] = [
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Cluster",
        "metadata": {"name": "c"},
        "spec": {
            "timing": {
                "keepalive": "200ms",
                "warntime": "500ms",
                "deadtime": "1s",
                "initdeadtime": "30s",
            },
            "stonith": {"enabled": True},
        },
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Node",
        "metadata": {"name": "n1"},
        "spec": {"attributes": {"rack": "a", "pingd": 100}},
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": "ip"},
        "spec": {
            "agent": "ocf:heartbeat:IPaddr2",
            "params": {"ip": "198.18.0.11"},
            "ops": [{"name": "monitor", "interval": "10s", "timeout": "20s"}],
            "meta": {"stickiness": 100},
        },
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Resource",
        "metadata": {"name": "db"},
        "spec": {"agent": "hactl:Dummy"},
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Group",
        "metadata": {"name": "g"},
        "spec": {"resources": ["ip", "db"]},
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Location",
        "metadata": {"name": "l"},
        "spec": {
            "resource": "g",
            "rules": [{"attribute": "pingd", "op": "lt", "value": "1", "score": "-INFINITY"}],
        },
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "Order",
        "metadata": {"name": "o"},
        "spec": {"first": "ip", "then": "db"},
    },
    {
        "apiVersion": "hactl/v1alpha1",
        "kind": "FenceDevice",
        "metadata": {"name": "f"},
        "spec": {"driver": "fence_process", "nodes": ["n1"]},
    },
]

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(
        ["INFINITY", "-INFINITY", "; rm -rf /", "../..", "1s", "x\x00y", "ocf:a:b", "Started"]
    ),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)
    ),
    max_leaves=12,
)


def dump(documents: list[Any]) -> str:
    out = io.StringIO()
    yaml = YAML(typ="safe", pure=True)
    yaml.dump_all(documents, out)
    return out.getvalue()


def assert_loads_or_explains(path: Path) -> None:
    report = load_report([path])
    for problem in report.problems:
        line = str(problem)
        assert "\n" not in line
        assert line.startswith(str(path)) or problem.file is None
    if not report.errors:
        report.declared()


def paths_in_doc(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths_in_doc(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths_in_doc(value, (*prefix, index))
    return found


class TestFuzzedInput:
    """The loader answers every input with documents or one-line problems."""

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(text=st.text(max_size=300))
    def test_random_text(self, tmp_path: Path, text: str) -> None:
        path = tmp_path / "m.yaml"
        path.write_bytes(text.encode("utf-8", errors="replace"))
        assert_loads_or_explains(path)

    @settings(
        max_examples=150,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(documents=st.lists(values, max_size=4))
    def test_random_documents(self, tmp_path: Path, documents: list[Any]) -> None:
        path = tmp_path / "m.yaml"
        path.write_text(dump(documents))
        assert_loads_or_explains(path)

    @settings(
        max_examples=300,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test_mutated_valid_manifests(self, tmp_path: Path, data: st.DataObject) -> None:
        documents = copy.deepcopy(VALID)
        for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
            target = data.draw(st.sampled_from(documents))
            where = data.draw(st.sampled_from(paths_in_doc(target)[1:]))
            parent = target
            for part in where[:-1]:
                parent = parent[part]
            action = data.draw(st.sampled_from(["replace", "delete", "add"]))
            if action == "replace":
                parent[where[-1]] = data.draw(values)
            elif action == "delete" and isinstance(parent, dict):
                del parent[where[-1]]
            elif isinstance(parent, dict):
                parent[data.draw(st.text(min_size=1, max_size=8))] = data.draw(values)
        path = tmp_path / "m.yaml"
        path.write_text(dump(documents))
        assert_loads_or_explains(path)

    def test_the_unmutated_manifests_are_valid(self, tmp_path: Path) -> None:
        path = tmp_path / "m.yaml"
        path.write_text(dump(VALID))
        assert not load_report([path]).errors
