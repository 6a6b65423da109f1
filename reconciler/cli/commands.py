"""The list of command families attached to `hactl` (one import per module)."""

from __future__ import annotations

import click

from reconciler.cli import declare, demo
from reconciler.cli.importer import import_group

ALL: list[click.Command] = [*declare.COMMANDS, demo.demo, import_group]
