"""`hactl fence NODE`, `hactl fence confirm NODE`, `hactl fence history [NODE]`.

A manual fence runs the node's FenceDevices from this machine (like stonith_admin
--fence) and records the result for the node's current incarnation, exactly as the
leader would: the cluster then recovers the node's resources elsewhere. A confirmation
is an operator's word that the node is down (stonith_admin --confirm): it is refused
while the node's agent holds its membership lease, because then it is plainly not down.
Both add to the fence history (reconciler/agent/fence_history.py), failures included.
"""

from __future__ import annotations

import getpass
import os
import time
from pathlib import Path

import click

from reconciler import declared_store, keys
from reconciler.agent import fence_history
from reconciler.agent.fence_history import FenceEntry
from reconciler.agent.records import FenceRecord, Incarnation
from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.cli.output import print_json, print_table
from reconciler.errors import HactlError, UsageError
from reconciler.fencing import fence_node
from reconciler.store.base import Compare, Put, Store


class FencingFailed(HactlError):
    exit_code = 1


async def _incarnation(store: Store, cluster: str, node: str) -> tuple[Incarnation, int]:
    kv = await store.get(keys.incarnation(cluster, node))
    if kv is None:
        raise UsageError(f"node {node} never joined the cluster: there is nothing to fence")
    return Incarnation.from_json(kv.value), kv.mod_revision


async def _record(
    store: Store, cluster: str, node: str, record: FenceRecord, incarnation_revision: int
) -> None:
    """Record the fencing, unless the node has rejoined meanwhile (a new incarnation)."""
    result = await store.txn(
        [Compare.unchanged(keys.incarnation(cluster, node), incarnation_revision)],
        [Put(keys.fenced(cluster, node), record.to_json())],
    )
    if not result.succeeded:
        raise FencingFailed(f"node {node} rejoined while it was being fenced; not recorded")


class _FenceGroup(click.Group):
    """`hactl fence NODE` fences; `hactl fence confirm|history` are subcommands."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["node", *args]
        return super().parse_args(ctx, args)


@click.group("fence", cls=_FenceGroup)
def fence_group() -> None:
    """Fence NODE now with its FenceDevices (`hactl fence NODE`), confirm a node down,
    or show the fencing history."""


@fence_group.command("node", hidden=True)
@click.argument("node")
@click.option("--action", type=click.Choice(["reboot", "off"]), default="reboot")
@command_options
@handle_errors
def fence_now(node: str, action: str) -> None:
    """Fence NODE with its FenceDevices and record it, as the leader would."""
    cluster = cli_context().cluster

    async def go() -> str:
        async with open_cli_store() as store:
            declared = await declared_store.read_declared(store, cluster)
            if node not in declared.nodes:
                raise UsageError(f"node {node} is not declared")
            incarnation, revision = await _incarnation(store, cluster, node)
            outcome = await fence_node(
                node,
                declared.fence_devices.values(),
                cluster=cluster,
                action=action,  # type: ignore[arg-type]
            )
            by = f"{getpass.getuser()} (hactl fence)"
            entries = fence_history.entries_from_outcome(
                outcome, declared.fence_devices, by=by, incarnation=incarnation.incarnation
            )
            await fence_history.record(fence_history.history_log(store, cluster), entries)
            if not outcome.succeeded:
                raise FencingFailed(f"fencing {node} failed: {outcome.reason}")
            record = FenceRecord(
                incarnation.incarnation,
                time.time(),
                outcome.device or "",
                outcome.action,
                by,
            )
            await _record(store, cluster, node, record, revision)
            return outcome.device or ""

    device = run(go())
    click.echo(f"node {node} fenced ({action} by {device}) and recorded")


@fence_group.command("confirm")
@click.argument("node")
@command_options
@handle_errors
def confirm(node: str) -> None:
    """Record an operator's word that NODE is down (meatware), so recovery can go on."""
    cluster = cli_context().cluster

    async def go() -> None:
        async with open_cli_store() as store:
            declared = await declared_store.read_declared(store, cluster)
            if node not in declared.nodes:
                raise UsageError(f"node {node} is not declared")
            if await store.get(keys.member(cluster, node)) is not None:
                raise UsageError(
                    f"node {node} is online (its agent holds its lease): confirm only a node "
                    "you know is down"
                )
            incarnation, revision = await _incarnation(store, cluster, node)
            record = FenceRecord(
                incarnation.incarnation,
                time.time(),
                "operator",
                "confirmed-down",
                f"{getpass.getuser()} (hactl fence confirm)",
            )
            await _record(store, cluster, node, record, revision)
            entry = FenceEntry(
                node,
                record.device,
                None,
                record.action,
                "success",
                "an operator confirmed the node down",
                record.by,
                record.incarnation,
            )
            await fence_history.record(fence_history.history_log(store, cluster), [entry])
            for device in declared.fence_devices.values():
                if device.spec.driver == "fence_meatware" and node in device.spec.nodes:
                    directory = Path(str(device.spec.params.get("confirm_dir", MEATWARE_DIR)))
                    _release_meatware(directory, node)

    run(go())
    click.echo(f"node {node} confirmed down and recorded as fenced")


MEATWARE_DIR = "/run/hactl/meatware"


def _release_meatware(directory: Path, node: str) -> None:
    """Answer a waiting fence_meatware driver (docs/fencing.md: the handshake)."""
    if not (directory / f"{node}.request").exists():
        return
    answer = directory / f".{node}.{os.getpid()}"
    answer.write_text(f"confirmed_by={getpass.getuser()}\nconfirmed_at={time.time()}\n")
    answer.rename(directory / node)


@fence_group.command("history")
@click.argument("node", required=False)
@command_options
@handle_errors
def history(node: str | None) -> None:
    """Every kept fencing attempt (the last 512 of the cluster), oldest first: when, which
    node, device and level, action, outcome and why, by whom, and the incarnation it ended."""
    cluster = cli_context().cluster

    async def go() -> list[FenceEntry]:
        async with open_cli_store() as store:
            if node is not None:
                declared = await declared_store.read_declared(store, cluster)
                if node not in declared.nodes:
                    raise UsageError(f"node {node} is not declared")
            return await fence_history.read_history(store, cluster, node)

    rows = [entry.as_row() for entry in run(go())]
    if cli_context().output == "json":
        print_json(rows)
        return
    print_table(
        ["TIME", "NODE", "DEVICE", "LEVEL", "ACTION", "OUTCOME", "BY", "REASON"],
        [
            (
                r["time"],
                r["node"],
                r["device"],
                "" if r["level"] is None else str(r["level"]),
                r["action"],
                r["outcome"],
                r["by"],
                r["reason"],
            )
            for r in rows
        ],
    )
