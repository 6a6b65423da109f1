"""`hactl demo`: the demo cluster of `manifests/demo`, as real node agents on one machine.

It applies the manifests to an embedded store of its own, starts one `hactl agent`
process per declared node, and shows the cluster converge; Ctrl-C stops the agents
cleanly (SIGTERM, by PID). While it runs, other terminals can use the printed
`--store` URL: `hactl status`, `hactl node standby`, or `kill -9` an agent's PID.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import click

from reconciler import declared_store
from reconciler.cli.context import cli_context, command_options, handle_errors, run
from reconciler.cli.output import print_problems
from reconciler.cli.runtime import read_status, render_status
from reconciler.loader import load_report
from reconciler.locate import PROJECT_ROOT
from reconciler.store.url import open_store

STOP_GRACE_S = 30.0


def converged(view: dict[str, Any]) -> bool:
    """Every resource in a running role and nothing pending."""
    if view["pending"] or not view["resources"]:
        return False
    return all(r["role"] in ("Started", "Promoted") for r in view["resources"].values())


def _start_agents(
    nodes: list[str], *, url: str, cluster: str, workdir: Path
) -> dict[str, subprocess.Popen[bytes]]:
    agents = {}
    for node in nodes:
        env = {**os.environ, "HACTL_CLUSTER": cluster, "HACTL_NODE": node}
        with (workdir / f"{node}.log").open("ab") as log:
            agents[node] = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "reconciler",
                    "--store",
                    url,
                    "--cluster",
                    cluster,
                    "agent",
                    "--node",
                    node,
                    "--rsctmp",
                    str(workdir / "rsctmp" / node),
                    "--parent-pid",
                    str(os.getpid()),
                ],
                stdout=log,
                stderr=log,
                env=env,
                start_new_session=True,
            )
    return agents


def _stop_agents(agents: dict[str, subprocess.Popen[bytes]]) -> None:
    for process in agents.values():
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_S
    for process in agents.values():
        try:
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@click.command()
@click.option(
    "-f",
    "--filename",
    "path",
    default=str(PROJECT_ROOT / "manifests" / "demo"),
    show_default=True,
    help="The demo's manifests.",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the store, logs and agents' state go (default: a new temporary one).",
)
@click.option("--exit-when-converged", is_flag=True, help="Stop the agents once converged.")
@click.option("--timeout", default=60.0, show_default=True, help="Seconds to wait to converge.")
@command_options
@handle_errors
def demo(path: str, workdir: Path | None, exit_when_converged: bool, timeout: float) -> None:
    """Run the demo cluster: apply manifests/demo and start its node agents."""
    ctx = cli_context()
    report = load_report([path])
    print_problems([str(p) for p in report.problems if p.severity == "error"])
    desired = report.declared()
    workdir = workdir or Path(tempfile.mkdtemp(prefix="hactl-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    url = ctx.store_url or f"sqlite://{workdir}/store.db"

    async def apply() -> int:
        store = open_store(url)
        try:
            result = await declared_store.apply_declared(
                store,
                ctx.cluster,
                desired,
                prune=True,
                dry_run=False,
                by="hactl demo",
                source={"paths": [path]},
            )
            return result.generation.number if result.generation else result.previous
        finally:
            await store.close()

    generation = run(apply())
    nodes = sorted(desired.nodes)
    click.echo(f"demo: {len(desired)} objects applied (generation {generation}) to {url}")
    agents = _start_agents(nodes, url=url, cluster=ctx.cluster, workdir=workdir)
    pids = " ".join(f"{n}={p.pid}" for n, p in agents.items())
    click.echo(f"demo: agents {pids}; logs in {workdir}")
    click.echo(f"demo: try `hactl --store {url} status` (or kill -9 an agent) elsewhere")
    ok = True
    # Ctrl-C, and SIGTERM from a supervisor, both stop the agents cleanly (SIGINT may
    # arrive ignored when the demo was started in the background by a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        ok = run(_watch(url, ctx.cluster, within=timeout, keep_going=not exit_when_converged))
    except KeyboardInterrupt:
        click.echo("demo: stopping the agents")
    finally:
        _stop_agents(agents)
    click.echo("demo: stopped")
    if not ok:
        sys.exit(1)


async def _watch(url: str, cluster: str, *, within: float, keep_going: bool) -> bool:
    """Print the status on every change; True once converged (when not keeping going)."""
    store = open_store(url)
    deadline = time.monotonic() + within
    shown = ""
    reached = False
    try:
        while True:
            view = await read_status(store, cluster)
            text = render_status(view)
            if text != shown:
                click.echo(text)
                shown = text
            if converged(view) and not reached:
                reached = True
                click.echo("demo: converged" + ("; Ctrl-C stops the agents" if keep_going else ""))
                if not keep_going:
                    return True
            if not keep_going and time.monotonic() > deadline:
                click.echo("demo: did not converge in time", err=True)
                return False
            await asyncio.sleep(0.5)
    finally:
        await store.close()
