"""`hactl events [--follow]`: the ordered stream of what the cluster did.

The kept history (each writer's ring, reconciler/events.py) in the store's order, and
with --follow every new event as the store records it, until interrupted. With
`-o json` one JSON object per event and line, for pipelines and log shippers.
"""

from __future__ import annotations

import json
import sys

import click

from reconciler import keys
from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.errors import UsageError
from reconciler.events import Event, read_events
from reconciler.store.base import EventType


def _print(event: Event, *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(event.as_dict(), sort_keys=True))
    else:
        click.echo(event.line())
    sys.stdout.flush()


@click.command("events")
@click.option("--follow", "-f", is_flag=True, help="Keep printing new events as they happen.")
@click.option(
    "--limit",
    "-n",
    type=int,
    default=None,
    metavar="N",
    help="Only the last N kept events (then new ones with --follow).",
)
@command_options
@handle_errors
def events(follow: bool, limit: int | None) -> None:
    """What the cluster did: membership, fencing, starts and stops with their results,
    operator intents — oldest first."""
    if limit is not None and limit < 0:
        raise UsageError("--limit must not be negative")
    ctx = cli_context()
    as_json = ctx.output == "json"
    if ctx.output == "yaml":
        raise UsageError("hactl events prints text or -o json (one object per line)")

    async def go() -> None:
        async with open_cli_store() as store:
            kept, revision = await read_events(store, ctx.cluster)
            shown = kept if limit is None else kept[len(kept) - limit :] if limit else []
            for event in shown:
                _print(event, as_json=as_json)
            if not follow:
                return
            async for change in store.watch(
                keys.events_prefix(ctx.cluster), start_revision=revision + 1
            ):
                if change.type is not EventType.PUT:
                    continue
                try:
                    event = Event.from_json(change.value, revision=change.revision)
                except (ValueError, KeyError, TypeError):
                    continue
                _print(event, as_json=as_json)

    run(go())
