"""Runtime commands: the node agent itself, and `status` (crm_mon's view)."""

from __future__ import annotations

import asyncio
import ctypes
import io
import os
import signal
import sys
from pathlib import Path
from typing import Any

import click
import structlog
from rich.console import Console
from rich.table import Table

from reconciler import keys
from reconciler.agent.daemon import AgentOptions, default_rsctmp, run_agent
from reconciler.cli.context import (
    cli_context,
    cli_store,
    command_options,
    handle_errors,
    open_cli_store,
    run,
)
from reconciler.cli.output import print_json, print_yaml
from reconciler.logs import configure
from reconciler.observation import read_cluster
from reconciler.status import status_view
from reconciler.store.base import Store

PR_SET_PDEATHSIG = 1
CLOSE_TIMEOUT_S = 5.0
"""How long an agent that is done may take to close its store connections."""

log = structlog.get_logger(__name__)


@click.command()
@click.option("--node", required=True, help="This node's name, as declared.")
@click.option(
    "--rsctmp",
    type=click.Path(file_okay=False, path_type=Path),
    help="HA_RSCTMP for this node's agents (default: /run/hactl/CLUSTER/NODE).",
)
@click.option("--log-level", default="info", show_default=True)
@click.option(
    "--parent-pid",
    type=int,
    hidden=True,
    help="Shut down cleanly when this process (hactl demo, a test) ends.",
)
@command_options
@handle_errors
def agent(node: str, rsctmp: Path | None, log_level: str, parent_pid: int | None) -> None:
    """Run this node's agent: membership, leadership, reconciliation."""
    configure(log_level)
    if parent_pid is not None:
        end_with_parent(parent_pid)
    ctx = cli_context()
    options = AgentOptions(
        cluster=ctx.cluster, node=node, rsctmp=rsctmp or default_rsctmp(ctx.cluster, node)
    )

    async def go() -> int:
        store = cli_store()
        lease_store = cli_store()
        code = 1
        try:
            code = await run_agent(store, options, lease_store=lease_store)
            return code
        finally:
            if not await closed_within(CLOSE_TIMEOUT_S, lease_store, store):
                # Seen with a node cut off from etcd: everything was stopped, then closing
                # the connections hung until the node was fenced. Its exit code must say
                # what happened (3: store lost), so leave without them.
                log.warning("agent.store_close_timed_out", node=node, exit_code=code)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)

    sys.exit(run(go()))


async def closed_within(seconds: float, *stores: Store) -> bool:
    """Close the stores; False if that did not finish within `seconds`."""
    closing = [asyncio.ensure_future(store.close()) for store in stores]
    done, pending = await asyncio.wait(closing, timeout=seconds)
    for task in done:
        if (error := task.exception()) is not None:
            log.warning("agent.store_close_failed", error=str(error))
    return not pending


def end_with_parent(parent_pid: int) -> None:
    """Get SIGTERM (a clean shutdown) when the parent dies, so that a demo or test that
    is killed never leaves agents behind (Linux PR_SET_PDEATHSIG)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os.kill(os.getpid(), signal.SIGTERM)


async def read_status(store: Store, cluster: str) -> dict[str, Any]:
    reading = await read_cluster(store, cluster)
    return status_view(
        reading.declared,
        reading.records,
        leader=reading.leader,
        decisions=reading.decisions,
    )


def render_status(view: dict[str, Any]) -> str:
    """The crm_mon-like text of a status view."""
    console = Console(width=100, record=True, file=io.StringIO(), highlight=False)
    console.print(f"leader: {view['leader'] or '(none)'}")
    if view.get("maintenance"):
        console.print("cluster maintenance: ON (monitoring only; nothing is started or stopped)")
    nodes = Table(box=None, header_style="bold")
    for column in ("NODE", "STATE"):
        nodes.add_column(column)
    for name, node in view["nodes"].items():
        nodes.add_row(name, node["state"])
    console.print(nodes)
    resources = Table(box=None, header_style="bold")
    for column in ("RESOURCE", "ROLE", "WHERE", "FAILCOUNTS"):
        resources.add_column(column)
    for name, res in view["resources"].items():
        failures = ", ".join(f"{n}={c}" for n, c in res["failcount"].items() if c)
        where = ", ".join(f"{n}:{r}" for n, r in res["nodes"].items()) or "-"
        resources.add_row(name, res["role"], where, failures)
    console.print(resources)
    if view.get("intents"):
        console.print("operator intents (hactl get intents):")
        for intent in view["intents"]:
            until = f" until {intent['until']}" if intent["until"] else ""
            console.print(f"  {intent['what']} (by {intent['by']} at {intent['at']}{until})")
    if view["pending"]:
        pending = ", ".join(f"{p['op']} {p['resource']} on {p['node']}" for p in view["pending"])
        console.print(f"pending: {pending}")
    return console.export_text()


@click.command()
@click.option("--watch", is_flag=True, help="Redraw whenever the cluster changes.")
@command_options
@handle_errors
def status(watch: bool) -> None:
    """Nodes, leader, resources with role and failcounts, pending actions."""
    ctx = cli_context()

    async def once() -> dict[str, Any]:
        async with open_cli_store() as store:
            return await read_status(store, ctx.cluster)

    async def follow() -> None:
        async with open_cli_store() as store:
            while True:
                revision = await store.revision()
                view = await read_status(store, ctx.cluster)
                click.clear()
                click.echo(render_status(view), nl=False)
                watcher = store.watch(keys.cluster_prefix(ctx.cluster), start_revision=revision + 1)
                try:
                    await anext(watcher)
                finally:
                    await watcher.aclose()  # type: ignore[attr-defined]
                await asyncio.sleep(0.2)

    if watch:
        run(follow())
        return
    view = run(once())
    if ctx.output == "json":
        print_json(view)
    elif ctx.output == "yaml":
        print_yaml(view)
    else:
        click.echo(render_status(view), nl=False)
