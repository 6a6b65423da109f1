"""How operator intents show beside the manifests: `get intents`, the INTENTS column of
`get`, and the note `diff` prints so that nobody mistakes an intent for drift.

Intents are not manifest objects: `diff` compares manifests only (an apply neither
wipes nor duplicates an intent, so after an apply the diff is empty), and says on
stderr which intents override the manifests it compared.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import click

from reconciler.cli.context import cli_context, open_cli_store, run
from reconciler.cli.output import print_json, print_table, print_yaml
from reconciler.errors import UsageError
from reconciler.intent_store import read_intents
from reconciler.intents import Intent, active


def intents_about(intents: Iterable[Intent], kind: str, name: str) -> str:
    """The intents naming one declared object (a Node, a Resource or Group), as text."""
    found = [
        i.describe()
        for i in intents
        if (kind == "Node" and i.node == name and i.resource is None)
        or (kind in ("Resource", "Group") and i.resource == name)
    ]
    return "; ".join(found)


def _until(intent: Intent) -> str:
    if intent.until is None:
        return "until cleared"
    left = intent.until - time.time()
    return f"{left:.0f}s left" if left < 120 else f"{left / 60:.0f}m left"


def show_intents(name: str | None) -> None:
    """`hactl get intents [NAME]`: the intents in force, with who, when and until."""
    ctx = cli_context()

    async def go() -> dict[str, Intent]:
        async with open_cli_store() as store:
            return await read_intents(store, ctx.cluster)

    intents = active(run(go()).values(), time.time())
    if name is not None:
        intents = [i for i in intents if i.name == name]
        if not intents:
            raise UsageError(f"no intent {name!r} (hactl get intents)")
    items = [i.as_dict() for i in intents]
    if ctx.output == "json":
        print_json(items[0] if name else {"kind": "IntentList", "items": items})
    elif ctx.output == "yaml":
        print_yaml(items)
    else:
        rows = [(i.name, i.describe(), i.by, str(i.as_dict()["at"]), _until(i)) for i in intents]
        print_table(["NAME", "INTENT", "BY", "AT", "UNTIL"], rows)


def note_intents(intents: Iterable[Intent]) -> None:
    """For `diff`: on stderr, the intents that override what the files declare."""
    in_force = active(intents, time.time())
    if not in_force:
        return
    click.echo(
        f"note: {len(in_force)} operator intent(s) in force beside the manifests "
        "(kept by apply, not part of this diff; hactl get intents):",
        err=True,
    )
    for intent in in_force:
        click.echo(f"  {intent.name}: {intent.describe()} (by {intent.by})", err=True)
