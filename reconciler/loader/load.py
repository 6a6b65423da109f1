"""Loading manifests from files into a checked DeclaredState: the loader's entry point."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.loader.checks import CHECKS
from reconciler.loader.documents import LoadedDocument, validate_document
from reconciler.loader.lints import LINTS, LintContext
from reconciler.loader.problems import ManifestError, Problem
from reconciler.loader.yamlfile import RawDocument, manifest_files, parse_text, read_file
from reconciler.model.declared import DeclaredState, Source

STDIN = "-"


@dataclass
class LoadReport:
    """Everything learned from a set of paths: the documents that loaded, and problems."""

    documents: list[LoadedDocument] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    def declared(self) -> DeclaredState:
        """The checked state; raises ManifestError when there is any error."""
        if self.errors:
            raise ManifestError(self.errors)
        sources = {d.key: Source(d.raw.file, d.raw.line) for d in self.documents}
        return DeclaredState.of((d.model for d in self.documents), sources)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _read_all(paths: Sequence[str | Path], report: LoadReport) -> list[RawDocument]:
    raws: list[RawDocument] = []
    for given in paths:
        if str(given) == STDIN:
            found, problems = parse_text(sys.stdin.read(), "<stdin>")
            report.files.append("<stdin>")
        else:
            path = Path(given)
            if not path.exists():
                report.problems.append(Problem("no such file or directory", file=str(given)))
                continue
            found, problems = [], []
            for file in manifest_files(path):
                display = _display(file)
                report.files.append(display)
                docs, file_problems = read_file(file, display)
                found += docs
                problems += file_problems
        raws += found
        report.problems += problems
    return raws


def load_report(paths: Sequence[str | Path], *, context: LintContext | None = None) -> LoadReport:
    """Read, validate and check every manifest under `paths`; never raises for bad input."""
    report = LoadReport()
    broken: set[str] = set()
    for raw in _read_all(paths, report):
        loaded, problems = validate_document(raw)
        report.problems += problems
        if loaded is not None:
            report.documents.append(loaded)
        elif problems and problems[0].name:
            broken.add(problems[0].name)
    if not report.files and not report.problems:
        report.problems.append(Problem("no manifest files found", file=", ".join(map(str, paths))))
    for check in CHECKS:
        report.problems += check(report.documents, broken)
    if not report.errors:
        lint_context = context or LintContext()
        for lint in LINTS:
            report.problems += lint(report.documents, lint_context)
    report.problems.sort(key=lambda p: (p.severity != "error", p.file or "", p.line or 0))
    return report


def load_paths(paths: Sequence[str | Path]) -> DeclaredState:
    """The checked DeclaredState of the manifests under `paths`, or ManifestError."""
    return load_report(paths).declared()


def check_state(state: DeclaredState) -> list[Problem]:
    """The cross-document checks on a state that did not come from files only
    (files merged onto the store, or the store after a delete)."""
    documents = []
    for key, doc in state.items():
        source = state.source_of(*key)
        raw = RawDocument(source.file if source else "<store>", source.line if source else 0, None)
        documents.append(LoadedDocument(doc, raw))
    problems: list[Problem] = []
    for check in CHECKS:
        problems += check(documents, set())
    return problems
