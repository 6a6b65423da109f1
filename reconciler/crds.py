"""The JSON Schema of every manifest kind, generated from the models into `crds/`.

`python -m reconciler.crds` rewrites the files; a test fails when they are stale, so
editors and CI tools that validate manifests against `crds/` never drift from hactl.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from reconciler.locate import PROJECT_ROOT
from reconciler.model.base import API_VERSION
from reconciler.model.kinds import KINDS

CRDS_DIR = PROJECT_ROOT / "crds"


def schema_files() -> dict[str, str]:
    """File name → content, for every kind."""
    files = {}
    for kind, model in KINDS.items():
        schema = model.model_json_schema(by_alias=True, mode="validation")
        schema = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$id": f"hactl/{API_VERSION.split('/')[1]}/{kind}",
            **schema,
        }
        files[f"{kind.lower()}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def write(directory: Path = CRDS_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in schema_files().items():
        path = directory / name
        path.write_text(content)
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write():
        sys.stdout.write(f"wrote {path.relative_to(PROJECT_ROOT)}\n")
