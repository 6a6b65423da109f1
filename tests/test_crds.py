"""The schemas in crds/ are exactly what the models generate."""

from __future__ import annotations

import json

from reconciler.crds import CRDS_DIR, schema_files
from reconciler.model.kinds import KINDS


class TestCrds:
    """crds/ is current: regenerate with `python -m reconciler.crds` when models change."""

    def test_one_schema_per_kind(self) -> None:
        assert sorted(p.name for p in CRDS_DIR.glob("*.schema.json")) == sorted(
            f"{kind.lower()}.schema.json" for kind in KINDS
        )

    def test_files_are_current(self) -> None:
        stale = [
            name
            for name, content in schema_files().items()
            if not (CRDS_DIR / name).exists() or (CRDS_DIR / name).read_text() != content
        ]
        assert stale == [], f"stale: {stale}; run: python -m reconciler.crds"

    def test_schemas_refuse_unknown_fields(self) -> None:
        schema = json.loads((CRDS_DIR / "resource.schema.json").read_text())
        assert schema["additionalProperties"] is False
        assert schema["$defs"]["ResourceSpec"]["additionalProperties"] is False
