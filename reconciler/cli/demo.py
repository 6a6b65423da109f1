"""`hactl demo`: the demo cluster of `manifests/demo` on the embedded store.

For now it validates and applies the manifests and shows the declared cluster; the
node agents that make it run come with the node-agent issue.
"""

from __future__ import annotations

import os

import click

from reconciler import declared_store
from reconciler.changes import unified_diff
from reconciler.cli.context import cli_context, command_options, handle_errors, run
from reconciler.cli.output import print_problems, print_table
from reconciler.loader import load_report
from reconciler.locate import PROJECT_ROOT
from reconciler.store.url import open_store


def demo_store_url() -> str:
    """A store of the demo's own, so the demo never touches a real embedded store."""
    if os.geteuid() == 0:
        return "sqlite:///var/lib/hactl/demo.db"
    state = os.environ.get("XDG_STATE_HOME") or os.path.expanduser("~/.local/state")
    return f"sqlite://{state}/hactl/demo.db"


@click.command()
@click.option(
    "-f",
    "--filename",
    "path",
    default=str(PROJECT_ROOT / "manifests" / "demo"),
    show_default=True,
    help="The demo's manifests.",
)
@command_options
@handle_errors
def demo(path: str) -> None:
    """Apply the demo cluster to its own embedded store and show it."""
    ctx = cli_context()
    url = ctx.store_url or demo_store_url()
    report = load_report([path])
    print_problems([str(p) for p in report.problems])
    desired = report.declared()
    click.echo(f"demo: {len(desired)} objects from {path}, store {url}")

    async def go() -> tuple[declared_store.ApplyResult, str]:
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
            stored = await declared_store.read_declared(store, ctx.cluster)
            return result, unified_diff(stored, desired, prune=True)
        finally:
            await store.close()

    result, remaining = run(go())
    number = result.generation.number if result.generation else result.previous
    click.echo(
        f"demo: generation {number} is current; diff after apply is "
        + ("empty" if not remaining else "NOT empty")
    )
    rows = []
    for doc in desired:
        source = desired.source_of(doc.kind, doc.metadata.name)
        rows.append((doc.kind, doc.metadata.name, str(source) if source else ""))
    print_table(["KIND", "NAME", "SOURCE"], rows)
    click.echo(f"next: hactl --store {url} get resources | history | diff -f {path}")
