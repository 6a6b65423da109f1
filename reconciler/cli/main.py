"""The `hactl` command group: global options, then one module per family of commands."""

from __future__ import annotations

import os

import click

from reconciler import __version__
from reconciler.cli.context import CliContext
from reconciler.logs import configure


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--store",
    "store_url",
    envvar="HACTL_STORE",
    metavar="URL",
    help="sqlite:///path, memory://, etcd://host:port,... (default: the embedded store)",
)
@click.option(
    "--cluster",
    envvar="HACTL_CLUSTER",
    default="default",
    show_default=True,
    help="Which cluster of the store to act on.",
)
@click.option(
    "-o",
    "--output",
    type=click.Choice(["table", "yaml", "json"]),
    default="table",
    show_default=True,
)
@click.option("--cacert", type=click.Path(dir_okay=False), help="CA certificate (etcd TLS).")
@click.option("--cert", type=click.Path(dir_okay=False), help="Client certificate (etcd TLS).")
@click.option("--key", type=click.Path(dir_okay=False), help="Client key (etcd TLS).")
@click.option("--user", help="etcd user; the password comes from HACTL_STORE_PASSWORD(_FILE).")
@click.version_option(__version__, prog_name="hactl")
@click.pass_context
def cli(
    ctx: click.Context,
    store_url: str | None,
    cluster: str,
    output: str,
    cacert: str | None,
    cert: str | None,
    key: str | None,
    user: str | None,
) -> None:
    """hactl: a high-availability cluster manager, declared in manifests."""
    configure(os.environ.get("HACTL_LOG_LEVEL", "warning"))
    ctx.obj = CliContext(
        store_url=store_url,
        cluster=cluster,
        output=output,  # type: ignore[arg-type]
        tls={"cacert": cacert, "cert": cert, "key": key, "user": user},
    )


def build() -> click.Group:
    """The `hactl` group with every command family attached (each module owns its own)."""
    from reconciler.cli import commands

    for command in commands.ALL:
        cli.add_command(command)
    return cli


def main() -> None:
    build()(prog_name="hactl")
