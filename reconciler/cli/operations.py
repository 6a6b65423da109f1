"""Day-2 commands on nodes and the whole cluster: standby, online, maintenance.

Each records an operator intent (reconciler/intents.py) beside the manifests, never in
them: a pipeline can drain a node (`hactl node standby n1 --wait`), patch it, and
bring it back (`hactl node online n1 --wait`) while another pipeline re-applies the
manifests, and neither undoes the other.
"""

from __future__ import annotations

import time

import click

from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.cli.output import print_json
from reconciler.cli.waiting import converged, drained, parse_timeout, wait_and_report, wait_options
from reconciler.declared_store import read_declared
from reconciler.errors import UsageError
from reconciler.intent_store import read_intents, record_intent, remove_intents
from reconciler.intents import Intent, IntentKind
from reconciler.model.base import is_valid_name
from reconciler.model.declared import DeclaredState
from reconciler.provenance import applied_by
from reconciler.store.base import Store


def check_node(declared: DeclaredState, node: str) -> None:
    if not is_valid_name(node):
        raise UsageError(f"{node!r} is not a node name (a DNS-1123 label)")
    if node not in declared.nodes:
        raise UsageError(f"node {node} is not declared (hactl get nodes)")


def _report(lines: list[str | None]) -> None:
    changed = [line for line in lines if line is not None]
    if cli_context().output == "json":
        print_json({"changed": changed})
    else:
        for line in changed:
            click.echo(line)


async def _set_node(
    store: Store, cluster: str, node: str, kind: IntentKind, on: bool, *, quiet: bool = False
) -> str | None:
    """Record (or clear) a node's standby or maintenance override; what changed, as text.

    Turning a state off removes the intent; only when the manifest itself declares the
    state on is an explicit "off" override recorded (the operator's word wins until it
    is cleared or the manifest changes). `quiet`: say nothing when nothing changed."""
    declared = await read_declared(store, cluster)
    check_node(declared, node)
    spec = declared.nodes[node].spec
    declared_on = spec.standby if kind == "standby" else spec.maintenance
    current = (await read_intents(store, cluster)).get(f"{kind}/{node}")
    label = "standby" if kind == "standby" else "maintenance"
    if current is not None and current.value == on:
        return f"node {node}: {label} {'on' if on else 'off'} already (by {current.by})"
    if on == declared_on:
        if current is None:
            return None if quiet else f"node {node}: {label} {'on' if on else 'off'} already"
        await remove_intents(
            store, cluster, [current.name], by=applied_by(), known={current.name: current}
        )
        return f"node {node}: {label} {'on' if on else 'off'} (as declared)"
    await record_intent(
        store, cluster, Intent(kind=kind, by=applied_by(), at=time.time(), node=node, value=on)
    )
    return f"node {node}: {label} {'on' if on else 'off'} (intent recorded by {applied_by()})"


@click.group("node")
def node_group() -> None:
    """Node maintenance for pipelines: standby (drain), online, maintenance."""


@node_group.command("standby")
@click.argument("name")
@wait_options
@command_options
@handle_errors
def standby(name: str, wait: bool, timeout: str) -> None:
    """Move every resource off NAME and keep new ones away (drain it)."""
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            _report([await _set_node(store, cluster, name, "standby", True)])
            if wait:
                await wait_and_report(store, cluster, drained(name), within=seconds)

    run(go())


@node_group.command("online")
@click.argument("name")
@wait_options
@command_options
@handle_errors
def online(name: str, wait: bool, timeout: str) -> None:
    """End standby and maintenance of NAME: it takes resources again."""
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            changed = [
                await _set_node(store, cluster, name, "standby", False),
                await _set_node(store, cluster, name, "maintenance", False, quiet=True),
            ]
            _report(changed)
            if wait:
                await wait_and_report(store, cluster, converged, within=seconds)

    run(go())


@node_group.command("maintenance")
@click.argument("name")
@click.option("--off", is_flag=True, help="End maintenance of the node.")
@wait_options
@command_options
@handle_errors
def node_maintenance(name: str, off: bool, wait: bool, timeout: str) -> None:
    """Leave what runs on NAME exactly as it is (monitored, never started or stopped)."""
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            _report([await _set_node(store, cluster, name, "maintenance", not off)])
            if wait:
                await wait_and_report(store, cluster, converged, within=seconds)

    run(go())


@click.command("maintenance")
@click.argument("state", type=click.Choice(["on", "off"]))
@wait_options
@command_options
@handle_errors
def maintenance(state: str, wait: bool, timeout: str) -> None:
    """Whole cluster: keep monitoring, stop acting (no start, stop, recovery or fencing)."""
    seconds = parse_timeout(timeout)
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            current = (await read_intents(store, cluster)).get("cluster-maintenance/cluster")
            if state == "on" and current is None:
                intent = Intent(kind="cluster-maintenance", by=applied_by(), at=time.time())
                await record_intent(store, cluster, intent)
                _report([f"cluster maintenance on (intent recorded by {intent.by})"])
            elif state == "on":
                _report([f"cluster maintenance on already (by {current.by})"])  # type: ignore[union-attr]
            else:
                if current is not None:
                    await remove_intents(
                        store,
                        cluster,
                        [current.name],
                        by=applied_by(),
                        known={current.name: current},
                    )
                _report(["cluster maintenance off"])
            if wait:
                await wait_and_report(store, cluster, converged, within=seconds)

    run(go())


COMMANDS: list[click.Command] = [node_group, maintenance]
