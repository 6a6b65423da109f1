"""Manifests from files: safe YAML reading, validation, cross-document checks, lints."""

from reconciler.loader.lints import LintContext, is_secret_param
from reconciler.loader.load import LoadReport, check_state, load_paths, load_report
from reconciler.loader.problems import ManifestError, Problem

__all__ = [
    "LintContext",
    "LoadReport",
    "ManifestError",
    "Problem",
    "check_state",
    "is_secret_param",
    "load_paths",
    "load_report",
]
