"""Declared-state commands: validate, apply, diff, get, delete, history, rollback."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import Any

import click

from reconciler import declared_store
from reconciler.changes import ChangeSet, compare, merged, redact, unified_diff
from reconciler.cli.context import (
    cli_context,
    command_options,
    handle_errors,
    open_cli_store,
    run,
)
from reconciler.cli.intents_view import intents_about, note_intents, show_intents
from reconciler.cli.output import print_json, print_problems, print_table, print_yaml
from reconciler.cli.waiting import converged, parse_timeout, wait_and_report, wait_options
from reconciler.errors import UsageError
from reconciler.intent_store import read_intents
from reconciler.intents import Intent, active
from reconciler.loader import LintContext, ManifestError, check_state, load_report
from reconciler.model.declared import DeclaredState, to_manifest
from reconciler.model.kinds import KINDS
from reconciler.provenance import applied_by, source_of

PRUNE_SHARE_LIMIT = 0.25
"""`apply --prune` refuses to delete more than this share of the declared objects
without --confirm: an apply from the wrong directory must not empty a cluster."""

files_option = click.option(
    "-f",
    "--filename",
    "paths",
    multiple=True,
    required=True,
    metavar="PATH",
    help="Manifest file or directory (read recursively); '-' for stdin. Repeatable.",
)


def _load(paths: Sequence[str], *, show_warnings: bool = True) -> DeclaredState:
    """Checked manifests; warnings to stderr; ManifestError on any error."""
    report = load_report(paths, context=LintContext(cli_context().store_url))
    if show_warnings:
        print_problems([str(p) for p in report.warnings])
    return report.declared()


def _kind_of(text: str) -> str:
    """`resource`, `Resources`, `Resource` → `Resource`."""
    names = {spelling: kind for kind in KINDS for spelling in (kind.lower(), kind.lower() + "s")}
    kind = names.get(text.lower())
    if kind is None:
        raise UsageError(f"unknown kind {text!r} (known: {', '.join(KINDS)})")
    return kind


def _print_changes(changes: ChangeSet, *, dry_run: bool) -> None:
    suffix = " (dry run)" if dry_run else ""
    for verb, keys in (
        ("created", changes.created),
        ("configured", changes.updated),
        ("deleted", changes.deleted),
    ):
        for kind, name in keys:
            click.echo(f"{kind}/{name} {verb}{suffix}")
    if changes.unchanged:
        click.echo(f"{len(changes.unchanged)} unchanged")
    if changes.untouched:
        click.echo(
            f"{len(changes.untouched)} object(s) in the store are not in these files "
            "(kept; --prune deletes them)"
        )


@click.command()
@files_option
@command_options
@handle_errors
def validate(paths: tuple[str, ...]) -> None:
    """Check manifests: schema, references, and lints. Exit 2 on any error."""
    report = load_report(paths, context=LintContext(cli_context().store_url))
    if cli_context().output == "json":
        print_json(
            {
                "valid": not report.errors,
                "documents": len(report.documents),
                "files": report.files,
                "problems": [p.as_dict() for p in report.problems],
            }
        )
    else:
        print_problems([str(p) for p in report.problems])
        if not report.errors:
            click.echo(f"{len(report.documents)} documents in {len(report.files)} files are valid")
    if report.errors:
        sys.exit(2)


@click.command()
@files_option
@click.option("--prune", is_flag=True, help="Delete declared objects that are not in the files.")
@click.option("--confirm", is_flag=True, help=f"Allow pruning more than {PRUNE_SHARE_LIMIT:.0%}.")
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@wait_options
@command_options
@handle_errors
def apply(
    paths: tuple[str, ...], prune: bool, confirm: bool, dry_run: bool, wait: bool, timeout: str
) -> None:
    """Make the manifests the cluster's declared state, in one atomic transaction.

    With --wait, then block until the cluster has converged on it (exit 1 on timeout
    or when a resource failed)."""
    seconds = parse_timeout(timeout)
    desired = _load(paths)
    ctx = cli_context()

    async def go() -> declared_store.ApplyResult:
        async with open_cli_store() as store:
            current = await declared_store.read_declared(store, ctx.cluster)
            problems = check_state(merged(current, desired, prune=prune))
            if problems:
                raise ManifestError(problems)
            _check_prune_share(current, desired, prune=prune, confirm=confirm)
            return await declared_store.apply_declared(
                store,
                ctx.cluster,
                desired,
                prune=prune,
                dry_run=dry_run,
                by=applied_by(),
                source=source_of(paths),
            )

    result = run(go())
    if ctx.output == "json":
        body: dict[str, Any] = result.changes.as_dict()
        body["generation"] = result.generation.number if result.generation else result.previous
        body["dryRun"] = dry_run
        print_json(body)
        if wait and not dry_run:
            _wait_converged(seconds)
        return
    _print_changes(result.changes, dry_run=dry_run)
    if result.generation is not None:
        git = result.generation.source.get("git") or {}
        where = ""
        if git.get("commit"):
            where = f" from git {git['commit'][:12]}" + (" (dirty)" if git.get("dirty") else "")
        click.echo(f"generation {result.generation.number} applied{where}")
    elif not dry_run:
        click.echo(f"no changes; generation {result.previous} is current")
    if wait and not dry_run:
        _wait_converged(seconds)


def _wait_converged(seconds: float) -> None:
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            await wait_and_report(store, cluster, converged, within=seconds)

    run(go())


def _check_prune_share(
    current: DeclaredState, desired: DeclaredState, *, prune: bool, confirm: bool
) -> None:
    if not prune or confirm or not len(current):
        return
    wanted = set(desired.object_keys())
    doomed = [key for key in current.object_keys() if key not in wanted]
    if len(doomed) > PRUNE_SHARE_LIMIT * len(current):
        raise UsageError(
            f"--prune would delete {len(doomed)} of {len(current)} declared objects "
            f"(more than {PRUNE_SHARE_LIMIT:.0%}); add --confirm if that is what you want"
        )


@click.command()
@files_option
@click.option("--prune", is_flag=True, help="Also show objects that apply --prune would delete.")
@command_options
@handle_errors
def diff(paths: tuple[str, ...], prune: bool) -> None:
    """Unified diff of the store's declared state against the files.

    Exit 0: no differences; 1: differences; 2: error; 3: store unreachable."""
    desired = _load(paths, show_warnings=False)
    ctx = cli_context()

    async def go() -> tuple[DeclaredState, dict[str, Intent]]:
        async with open_cli_store() as store:
            declared = await declared_store.read_declared(store, ctx.cluster)
            return declared, await read_intents(store, ctx.cluster)

    current, intents = run(go())
    text = unified_diff(current, desired, prune=prune)
    click.echo(text, nl=False)
    note_intents(intents.values())
    sys.exit(1 if text else 0)


@click.command()
@click.argument("kind")
@click.argument("name", required=False)
@command_options
@handle_errors
def get(kind: str, name: str | None) -> None:
    """Show declared objects of a kind (all, or one by name); `get intents` shows the
    operator intents (standby, maintenance, move, ban, …) kept beside the manifests."""
    if kind.lower() in ("intent", "intents"):
        show_intents(name)
        return
    wanted = _kind_of(kind)
    ctx = cli_context()

    async def go() -> tuple[DeclaredState, dict[str, Intent]]:
        async with open_cli_store() as store:
            declared = await declared_store.read_declared(store, ctx.cluster)
            return declared, await read_intents(store, ctx.cluster)

    state, intents = run(go())
    in_force = active(intents.values(), time.time())
    docs = [d for d in state if d.kind == wanted and (name is None or d.metadata.name == name)]
    if name is not None and not docs:
        raise UsageError(f"{wanted}/{name} is not declared")
    manifests = [redact(to_manifest(d)) for d in docs]
    if ctx.output == "json":
        print_json(manifests[0] if name else {"kind": f"{wanted}List", "items": manifests})
    elif ctx.output == "yaml" or name is not None:
        print_yaml(manifests)
    else:
        rows = []
        for doc in docs:
            source = state.source_of(doc.kind, doc.metadata.name)
            about = intents_about(in_force, doc.kind, doc.metadata.name)
            where = "" if source is None else str(source) if source.line else source.file
            rows.append((doc.metadata.name, where, about))
        if any(row[2] for row in rows):
            print_table(["NAME", "SOURCE", "INTENTS"], rows)
        else:
            print_table(["NAME", "SOURCE"], [row[:2] for row in rows])


@click.command()
@click.argument("kind")
@click.argument("name")
@command_options
@handle_errors
def delete(kind: str, name: str) -> None:
    """Remove one declared object (as a new generation)."""
    wanted = _kind_of(kind)
    ctx = cli_context()

    async def go() -> declared_store.Generation:
        async with open_cli_store() as store:
            expected = await declared_store.read_generation(store, ctx.cluster)
            current = await declared_store.read_declared(store, ctx.cluster)
            if current.get(wanted, name) is None:
                raise UsageError(f"{wanted}/{name} is not declared")
            rest = DeclaredState.of(
                [d for key, d in current.items() if key != (wanted, name)],
                {k: v for k, v in current.sources.items() if k != (wanted, name)},
            )
            problems = check_state(rest)
            if problems:
                raise ManifestError(problems)
            return await declared_store.write_generation(
                store,
                ctx.cluster,
                state=rest,
                changes=compare(current, rest, prune=True),
                reason=f"delete {wanted}/{name}",
                by=applied_by(),
                source={},
                expected=expected,
            )

    generation = run(go())
    click.echo(f"{wanted}/{name} deleted; generation {generation.number}")


@click.command()
@command_options
@handle_errors
def history() -> None:
    """Every applied generation: when, by whom, from which commit, what changed."""
    ctx = cli_context()

    async def go() -> list[declared_store.Generation]:
        async with open_cli_store() as store:
            return await declared_store.read_history(store, ctx.cluster)

    generations = run(go())
    if ctx.output in ("json", "yaml"):
        records = [
            {
                "generation": g.number,
                "appliedAt": g.applied_at,
                "by": g.by,
                "reason": g.reason,
                "objects": g.objects,
                "source": g.source,
                "changes": g.changes,
                "revision": g.revision,
            }
            for g in generations
        ]
        (print_json if ctx.output == "json" else print_yaml)(records)
        return
    rows = []
    for g in generations:
        git = g.source.get("git") or {}
        commit = (git.get("commit") or "")[:12] + ("+dirty" if git.get("dirty") else "")
        counts = " ".join(
            f"{sign}{len(g.changes.get(k, []))}"
            for sign, k in (("+", "created"), ("~", "updated"), ("-", "deleted"))
        )
        rows.append((g.number, g.applied_at, g.by, commit, counts, g.objects, g.reason))
    print_table(["GEN", "APPLIED", "BY", "COMMIT", "CHANGES", "OBJECTS", "REASON"], rows)


@click.command()
@click.argument("generation", type=int)
@click.option("--dry-run", is_flag=True, help="Show what would change; write nothing.")
@command_options
@handle_errors
def rollback(generation: int, dry_run: bool) -> None:
    """Return the declared state to an earlier generation (recorded as a new one)."""
    ctx = cli_context()

    async def go() -> declared_store.ApplyResult:
        async with open_cli_store() as store:
            target = await declared_store.generation_state(store, ctx.cluster, generation)
            return await declared_store.apply_declared(
                store,
                ctx.cluster,
                target,
                prune=True,
                dry_run=dry_run,
                by=applied_by(),
                source={"rollbackTo": generation},
                reason=f"rollback to {generation}",
            )

    result = run(go())
    _print_changes(result.changes, dry_run=dry_run)
    if result.generation is not None:
        click.echo(f"generation {result.generation.number} = generation {generation}")
    elif not dry_run:
        click.echo(f"no changes; generation {result.previous} already matches {generation}")


COMMANDS = [validate, apply, diff, get, delete, history, rollback]
