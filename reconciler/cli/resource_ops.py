"""`hactl resource move|ban|clear|restart|cleanup`: operator intents on resources.

Each records an intent (reconciler/intents.py) with who, when and, with `--for`, until
when. `move` and `ban` become constraints the scheduler weighs like any other
(reconciler/intent_terms.py) and stay until `clear` or their lifetime ends — so that,
unlike Pacemaker's forgotten `cli-prefer` constraints, a move for a maintenance
window can end by itself. `restart` and `cleanup` are done by the cluster and then
removed by the leader.
"""

from __future__ import annotations

import time

import click

from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.cli.operations import check_node
from reconciler.cli.output import print_json
from reconciler.cli.waiting import (
    Check,
    Verdict,
    converged,
    parse_timeout,
    positive_duration,
    wait_and_report,
    wait_options,
)
from reconciler.convergence import Progress
from reconciler.declared_store import read_declared
from reconciler.errors import UsageError
from reconciler.intent_store import read_intents, record_intent, remove_intents
from reconciler.intents import Intent, IntentKind
from reconciler.model.base import is_valid_name
from reconciler.model.declared import DeclaredState
from reconciler.observation import ClusterReading
from reconciler.provenance import applied_by
from reconciler.store.base import Store

for_option = click.option(
    "--for",
    "lifetime",
    metavar="DURATION",
    help="End the intent by itself after this long (30m, 2h); default: until cleared.",
)


def check_resource(declared: DeclaredState, name: str, *, clones: bool = True) -> None:
    if not is_valid_name(name):
        raise UsageError(f"{name!r} is not a resource name (a DNS-1123 label)")
    if name not in declared.resources and name not in declared.groups:
        raise UsageError(f"{name} is neither a declared resource nor a group (hactl get resources)")
    resource = declared.resources.get(name)
    if not clones and resource is not None and resource.spec.clone is not None:
        raise UsageError(f"{name} is a clone, it runs on several nodes: ban it from a node instead")


def parse_lifetime(text: str | None) -> float | None:
    return None if text is None else positive_duration(text, option="--for")


def intents_finished(names: list[str]) -> Check:
    """The leader removed these intents (restart, cleanup done) and the cluster converged."""

    def check(reading: ClusterReading, now: Progress) -> Verdict | None:
        left = [n for n in names if n in reading.records.intents]
        if left:
            return None
        return converged(reading, now)

    return check


def _report(intents: list[Intent], verb: str) -> None:
    if cli_context().output == "json":
        print_json({verb: [i.as_dict() for i in intents]})
        return
    for intent in intents:
        until = f" until {intent.as_dict()['until']}" if intent.until is not None else ""
        click.echo(f"{intent.describe()}{until}: {verb} (by {intent.by})")


async def _record(
    store: Store,
    cluster: str,
    *,
    kind: IntentKind,
    resources: list[str],
    node: str | None,
    lifetime: float | None,
) -> list[Intent]:
    now = time.time()
    until = None if lifetime is None else now + lifetime
    recorded = []
    for resource in resources:
        intent = Intent(
            kind=kind, by=applied_by(), at=now, node=node, resource=resource, until=until
        )
        recorded.append(await record_intent(store, cluster, intent))
    return recorded


def _run(
    *,
    kind: IntentKind,
    name: str,
    node: str | None,
    lifetime: str | None,
    wait: bool,
    timeout: str,
    clones: bool = True,
) -> None:
    """Check, record, report, and wait: the shape every resource intent command has."""
    seconds = parse_timeout(timeout)
    life = parse_lifetime(lifetime)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            declared = await read_declared(store, cluster)
            check_resource(declared, name, clones=clones)
            if node is not None:
                check_node(declared, node)
            resources = [name]
            if kind == "cleanup" and name in declared.groups:
                resources = list(declared.groups[name].spec.resources)
            recorded = await _record(
                store, cluster, kind=kind, resources=resources, node=node, lifetime=life
            )
            _report(recorded, "recorded")
            if wait:
                check: Check = converged
                if kind in ("restart", "cleanup"):
                    check = intents_finished([i.name for i in recorded])
                await wait_and_report(store, cluster, check, within=seconds)

    run(go())


@click.group("resource")
def resource_group() -> None:
    """Operator intents on resources: move, ban, clear, restart, cleanup."""


@resource_group.command("move")
@click.argument("name")
@click.option("--to", "node", required=True, metavar="NODE", help="The node to run on.")
@for_option
@wait_options
@command_options
@handle_errors
def move(name: str, node: str, lifetime: str | None, wait: bool, timeout: str) -> None:
    """Run NAME on NODE (INFINITY preference) until cleared or --for has passed."""
    _run(
        kind="move",
        name=name,
        node=node,
        lifetime=lifetime,
        wait=wait,
        timeout=timeout,
        clones=False,
    )


@resource_group.command("ban")
@click.argument("name")
@click.option("--from", "node", required=True, metavar="NODE", help="The node to keep off.")
@for_option
@wait_options
@command_options
@handle_errors
def ban(name: str, node: str, lifetime: str | None, wait: bool, timeout: str) -> None:
    """Keep NAME off NODE (-INFINITY) until cleared or --for has passed."""
    _run(kind="ban", name=name, node=node, lifetime=lifetime, wait=wait, timeout=timeout)


@resource_group.command("restart")
@click.argument("name")
@wait_options
@command_options
@handle_errors
def restart(name: str, wait: bool, timeout: str) -> None:
    """Stop NAME everywhere (a group: all its members), then start it again."""
    _run(kind="restart", name=name, node=None, lifetime=None, wait=wait, timeout=timeout)


@resource_group.command("cleanup")
@click.argument("name")
@click.option("--node", metavar="NODE", help="Only the failures on this node.")
@wait_options
@command_options
@handle_errors
def cleanup(name: str, node: str | None, wait: bool, timeout: str) -> None:
    """Forget NAME's failures (failcounts, failed state) and probe it again."""
    _run(kind="cleanup", name=name, node=node, lifetime=None, wait=wait, timeout=timeout)


@resource_group.command("clear")
@click.argument("name")
@wait_options
@command_options
@handle_errors
def clear(name: str, wait: bool, timeout: str) -> None:
    """Remove NAME's move, ban and restart intents (Pacemaker's crm_resource --clear)."""
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            check_resource(await read_declared(store, cluster), name)
            found = [
                intent
                for intent in (await read_intents(store, cluster)).values()
                if intent.resource == name and intent.kind in ("move", "ban", "restart")
            ]
            await remove_intents(
                store,
                cluster,
                [i.name for i in found],
                by=applied_by(),
                known={i.name: i for i in found},
            )
            if found:
                _report(found, "cleared")
            elif cli_context().output == "json":
                print_json({"cleared": []})
            else:
                click.echo(f"{name}: no move, ban or restart to clear")
            if wait:
                await wait_and_report(store, cluster, converged, within=seconds)

    run(go())


COMMANDS: list[click.Command] = [resource_group]
