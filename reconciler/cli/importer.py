"""`hactl import …`: other cluster managers' configuration printed as hactl manifests.

The manifests go to stdout (redirect them into a file, review, then `hactl apply`);
warnings about what was not carried over go to stderr, one line each, and are also
repeated in the output's header comment so they stay with the file.
"""

from __future__ import annotations

from pathlib import Path

import click

from reconciler.cli.context import handle_errors
from reconciler.importers.heartbeat import import_files, render_yaml


@click.group(name="import")
def import_group() -> None:
    """Print manifests made from another cluster manager's configuration."""


@import_group.command(name="heartbeat")
@click.argument("ha_cf", metavar="HA_CF")
@click.argument("haresources", metavar="HARESOURCES")
@click.option(
    "--name",
    "cluster_name",
    metavar="NAME",
    help="metadata.name of the Cluster (default: ha.cf's `cluster`, else linux-ha).",
)
@handle_errors
def heartbeat(ha_cf: str, haresources: str, cluster_name: str | None) -> None:
    """Manifests from a heartbeat v1 configuration: ha.cf and haresources.

    Nothing is applied and nothing from the files is executed: review the output,
    then `hactl apply -f` it.
    """
    result = import_files(Path(ha_cf), Path(haresources), cluster_name=cluster_name)
    for warning in result.warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(render_yaml(result), nl=False)
