"""`hactl export cib`: the declared and (simulated) observed state as a Pacemaker CIB.

Takes the same inputs as `hactl simulate` — manifests, the store's declared state or a
saved scheduler input, plus observed-state flags — so that the same situation can be
handed to Pacemaker's `crm_simulate -x FILE -S` and the two schedulers compared.
"""

from __future__ import annotations

import click

from reconciler.cib import to_cib
from reconciler.cli.context import command_options, handle_errors
from reconciler.cli.simulate import ObservedFlags, build_snapshot, observed_options


@click.group(name="export")
def export_group() -> None:
    """Print hactl's state in another cluster manager's format."""


@export_group.command(name="cib")
@click.argument("snapshot_file", required=False, metavar="[SNAPSHOT.json]")
@observed_options
@command_options
@handle_errors
def cib(
    snapshot_file: str | None,
    paths: tuple[str, ...],
    flags: ObservedFlags,
) -> None:
    """A Pacemaker CIB (crm_feature_set 3.16.1) for crm_simulate, on stdout.

    Try: hactl export cib -f manifests/demo --node-down node1 > cib.xml;
    crm_simulate -x cib.xml -S
    """
    snapshot, _ = build_snapshot(snapshot_file, paths, flags=flags)
    click.echo(to_cib(snapshot), nl=False)
