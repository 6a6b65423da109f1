"""`hactl simulate` and `hactl explain`: the scheduler, offline, on demand.

Both build a ClusterSnapshot — from manifests (`-f`), from the store's declared state,
or from a saved scheduler input (`hactl simulate SNAPSHOT.json`) — apply the observed
state given as flags (`--running web@node1`, `--node-down node2`, …), and run the pure
scheduler on it. Nothing is written anywhere.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, cast

import click

from reconciler.cli.context import cli_context, command_options, handle_errors, run
from reconciler.cli.output import print_json, print_yaml
from reconciler.errors import UsageError
from reconciler.model.declared import DeclaredState
from reconciler.scheduler import Transition, schedule
from reconciler.scheduler.explain import explain_data, explain_lines
from reconciler.scheduler.outcome import predicted
from reconciler.scheduler.summary import (
    action_lines,
    score_lines,
    scores_data,
    status_lines,
    summary_lines,
)
from reconciler.snapshot import (
    OBSERVED_ROLES,
    ClusterSnapshot,
    Failcount,
    NodeState,
    ResourceInstance,
)


@dataclass(frozen=True)
class ObservedFlags:
    """The observed state given on the command line."""

    running: tuple[str, ...] = ()
    node_down: tuple[str, ...] = ()
    node_unclean: tuple[str, ...] = ()
    standby: tuple[str, ...] = ()
    fail: tuple[str, ...] = ()


def observed_options(func: click.decorators.FC) -> click.decorators.FC:
    """The flags shared by simulate, explain and export cib; the command gets them as
    `paths` and one `flags: ObservedFlags`."""
    options = [
        click.option(
            "-f",
            "--filename",
            "paths",
            multiple=True,
            metavar="PATH",
            help="Manifest file or directory (repeatable); default: the store's.",
        ),
        click.option(
            "--running",
            multiple=True,
            metavar="RES@NODE[:ROLE]",
            help="RES runs on NODE now (a group: all its members). Repeatable.",
        ),
        click.option(
            "--node-down",
            multiple=True,
            metavar="NODE",
            help="NODE died: lost and unclean (fenced when stonith is on).",
        ),
        click.option(
            "--node-unclean",
            multiple=True,
            metavar="NODE",
            help="NODE is still a member but its state cannot be trusted.",
        ),
        click.option("--standby", multiple=True, metavar="NODE", help="Put NODE in standby."),
        click.option(
            "--fail",
            multiple=True,
            metavar="RES@NODE[:COUNT]",
            help="RES failed on NODE (COUNT failures, default 1); its monitor "
            "failed if it runs there.",
        ),
    ]
    fields = ("running", "node_down", "node_unclean", "standby", "fail")

    @functools.wraps(func)
    def with_flags(*args: Any, **kwargs: Any) -> Any:
        flags = ObservedFlags(*(kwargs.pop(name) for name in fields))
        return func(*args, flags=flags, **kwargs)

    wrapped = cast("click.decorators.FC", with_flags)
    for option in reversed(options):
        wrapped = option(wrapped)
    return wrapped


# --- commands ------------------------------------------------------------------------


@click.command()
@click.argument("snapshot_file", required=False, metavar="[SNAPSHOT.json]")
@observed_options
@click.option("--scores", is_flag=True, help="Also print every allocation score.")
@click.option(
    "--saved",
    metavar="N|latest",
    help="Replay the leader's saved scheduler input N from the store (hactl simulate --saved "
    "latest -o json > input.json keeps one as a regression case).",
)
@command_options
@handle_errors
def simulate(
    snapshot_file: str | None,
    paths: tuple[str, ...],
    flags: ObservedFlags,
    scores: bool,
    saved: str | None,
) -> None:
    """Run the scheduler offline and print the transition it decides (like crm_simulate).

    Without -f or SNAPSHOT.json it schedules the store's current state (declared and
    observed). SNAPSHOT.json (or --saved) replays a saved scheduler input; the flags
    change it further.
    """
    if saved is not None:
        if snapshot_file is not None or paths:
            raise UsageError("give one of --saved, SNAPSHOT.json or -f manifests")
        base = _saved_input(saved)
        now = base.observed_at if base.observed_at is not None else time.time()
        snapshot = apply_flags(base, flags, now=now)
    else:
        snapshot, now = build_snapshot(snapshot_file, paths, flags=flags)
    transition = schedule(snapshot, now)
    output = cli_context().output
    if output in ("json", "yaml"):
        data = transition.to_dict()
        if scores:
            data["scores"] = scores_data(transition, snapshot.declared.nodes)
        if output == "json":
            print_json(data)
        else:
            print_yaml(data)
        return
    click.echo("\n".join(render(snapshot, transition, scores=scores)))


@click.command()
@click.argument("resource", metavar="RESOURCE")
@click.argument("snapshot_file", required=False, metavar="[SNAPSHOT.json]")
@observed_options
@command_options
@handle_errors
def explain(
    resource: str,
    snapshot_file: str | None,
    paths: tuple[str, ...],
    flags: ObservedFlags,
) -> None:
    """Why RESOURCE (a resource or group) runs where it runs: every score and its source."""
    snapshot, now = build_snapshot(snapshot_file, paths, flags=flags)
    if resource not in snapshot.declared.resources and resource not in snapshot.declared.groups:
        raise UsageError(f"unknown resource {resource!r}")
    transition = schedule(snapshot, now)
    output = cli_context().output
    if output == "json":
        print_json(explain_data(resource, transition, declared=snapshot.declared))
    elif output == "yaml":
        print_yaml(explain_data(resource, transition, declared=snapshot.declared))
    else:
        click.echo("\n".join(explain_lines(resource, transition, declared=snapshot.declared)))


COMMANDS: list[click.Command] = [simulate, explain]


def render(snapshot: ClusterSnapshot, transition: Transition, *, scores: bool) -> list[str]:
    """crm_simulate's layout: status, transition summary, actions, revised status."""
    lines = ["Current cluster status:", *status_lines(snapshot), ""]
    if scores:
        lines += ["Allocation scores:", *score_lines(transition, snapshot.declared.nodes), ""]
    lines += ["Transition Summary:", *summary_lines(snapshot, transition), ""]
    lines += ["Executing Cluster Transition:", *action_lines(transition), ""]
    lines += ["Revised Cluster Status:", *status_lines(predicted(snapshot, transition))]
    lines += [f"warning: {w}" for w in transition.warnings]
    return lines


# --- building the snapshot -------------------------------------------------------------


def build_snapshot(
    snapshot_file: str | None, paths: Sequence[str], *, flags: ObservedFlags
) -> tuple[ClusterSnapshot, float]:
    """The snapshot to schedule and the time to schedule it at."""
    if snapshot_file is not None:
        if paths:
            raise UsageError("give either a SNAPSHOT.json or -f manifests, not both")
        snapshot = _read_snapshot(Path(snapshot_file))
        now = snapshot.observed_at if snapshot.observed_at is not None else time.time()
    elif paths:
        from reconciler.loader import load_paths

        snapshot = ClusterSnapshot.from_dict({}, declared=load_paths(paths))
        now = time.time()
    else:
        now = time.time()
        snapshot = _from_store(now)
    return apply_flags(snapshot, flags, now=now), now


def _read_snapshot(path: Path) -> ClusterSnapshot:
    try:
        text = path.read_text()
    except OSError as exc:
        raise UsageError(f"{path}: {exc.strerror or exc}") from exc
    try:
        return ClusterSnapshot.from_json(text)
    except ValueError as exc:
        raise UsageError(f"{path}: not a saved scheduler input: {exc}") from exc


def _saved_input(which: str) -> ClusterSnapshot:
    """One of the leader's saved scheduler inputs (`latest`, or its sequence number)."""
    from reconciler import keys
    from reconciler.cli.context import open_cli_store

    cluster = cli_context().cluster

    async def read() -> list[tuple[int, bytes]]:
        async with open_cli_store() as store:
            found, _ = await store.range(keys.inputs_prefix(cluster))
            return [(int(kv.key.rsplit("/", 1)[1]), kv.value) for kv in found]

    saved = dict(run(read()))
    if not saved:
        raise UsageError("the store holds no saved scheduler input (no leader ran yet)")
    if which == "latest":
        number = max(saved)
    elif which.isdigit() and int(which) in saved:
        number = int(which)
    else:
        raise UsageError(f"no saved input {which!r}; kept: {min(saved)}..{max(saved)}")
    try:
        return ClusterSnapshot.from_json(saved[number].decode())
    except ValueError as exc:
        raise UsageError(f"saved input {number} is unreadable: {exc}") from exc


def _from_store(now: float) -> ClusterSnapshot:
    """The store's current state: declared objects plus what the agents report."""
    from reconciler import keys
    from reconciler.agent.observe import RuntimeRecords
    from reconciler.agent.observe import build_snapshot as observed_snapshot
    from reconciler.cli.context import open_cli_store
    from reconciler.declared_store import read_declared

    cluster = cli_context().cluster

    async def read() -> tuple[DeclaredState, RuntimeRecords]:
        async with open_cli_store() as store:
            declared = await read_declared(store, cluster)
            values: dict[str, bytes] = {}
            for part in keys.RUNTIME_PREFIXES:
                found, _ = await store.range(keys.cluster_prefix(cluster) + part)
                values.update((kv.key, kv.value) for kv in found)
            return declared, RuntimeRecords.decode(cluster, values)

    declared, records = run(read())
    if not declared.resources and not declared.nodes:
        raise UsageError("nothing is declared in the store: give manifests with -f PATH")
    return observed_snapshot(declared, records, lost_at={}, now=now)


def apply_flags(snapshot: ClusterSnapshot, flags: ObservedFlags, *, now: float) -> ClusterSnapshot:
    """The snapshot with the command line's observed state applied on top."""
    declared = snapshot.declared
    nodes = dict(snapshot.nodes)
    for node in flags.node_down:
        nodes[_node(declared, node)] = replace(
            nodes.get(node, NodeState()), online=False, unclean=True, lost_at=now
        )
    for node in flags.node_unclean:
        nodes[_node(declared, node)] = replace(nodes.get(node, NodeState()), unclean=True)
    for node in flags.standby:
        nodes[_node(declared, node)] = replace(nodes.get(node, NodeState()), standby=True)
    instances = list(snapshot.resources)
    for text in flags.running:
        name, node, extra = _split(declared, text, shape="RES@NODE[:ROLE]")
        role = next((r for r in OBSERVED_ROLES if r == (extra or "Started")), None)
        if role is None:
            raise UsageError(f"--running {text}: role must be one of {', '.join(OBSERVED_ROLES)}")
        members = declared.groups[name].spec.resources if name in declared.groups else [name]
        instances += [ResourceInstance(m, node, role) for m in members]
    failcounts = list(snapshot.failcounts)
    for text in flags.fail:
        name, node, count = _split(declared, text, shape="RES@NODE[:COUNT]")
        if name in declared.groups:
            raise UsageError(f"--fail {text}: name a resource, not a group")
        if count is not None and not count.isdigit():
            raise UsageError(f"--fail {text}: COUNT must be a positive integer")
        failcounts.append(Failcount(name, node, int(count or 1), now))
        instances = [
            replace(i, failed="monitor") if (i.resource, i.node) == (name, node) else i
            for i in instances
        ]
    return replace(
        snapshot,
        nodes=nodes,
        resources=tuple(instances),
        failcounts=tuple(failcounts),
        observed_at=now,
    )


def _node(declared: DeclaredState, node: str) -> str:
    if node not in declared.nodes:
        raise UsageError(f"unknown node {node!r}")
    return node


def _split(declared: DeclaredState, text: str, *, shape: str) -> tuple[str, str, str | None]:
    name, at, rest = text.partition("@")
    node, _, extra = rest.partition(":")
    if not at or not name or not node:
        raise UsageError(f"{text!r} is not {shape}")
    if name not in declared.resources and name not in declared.groups:
        raise UsageError(f"unknown resource {name!r}")
    return name, _node(declared, node), extra or None
