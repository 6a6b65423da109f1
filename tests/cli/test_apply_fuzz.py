"""`hactl apply` of random mutations of valid manifests: applied whole, or refused whole."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.conftest import Hactl
from tests.loader.test_fuzz import VALID, dump, paths_in_doc, values


class TestApplyFuzz:
    """Bad input gets exit 2, one line per problem, no traceback, and an unchanged store."""

    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def test_mutations(self, hactl: Hactl, data: st.DataObject) -> None:
        documents: list[dict[str, Any]] = copy.deepcopy(VALID)
        target = data.draw(st.sampled_from(documents))
        where = data.draw(st.sampled_from(paths_in_doc(target)[1:]))
        parent: Any = target
        for part in where[:-1]:
            parent = parent[part]
        if data.draw(st.booleans()) and isinstance(parent, dict):
            del parent[where[-1]]
        else:
            parent[where[-1]] = data.draw(values)
        path: Path = hactl.write("m.yaml", dump(documents))
        before = hactl.revision()
        result = hactl("apply", "-f", str(path))
        assert result.exit_code in (0, 2), result.stderr
        assert "Traceback" not in result.stderr
        if result.exit_code == 2:
            assert hactl.revision() == before
            assert all(
                line.startswith(("m.yaml", "error:"))
                for line in result.stderr.splitlines()
                if "warning" not in line
            )
        else:
            assert hactl("diff", "-f", str(path)).exit_code == 0
