"""The list of command families attached to `hactl` (one import per module)."""

from __future__ import annotations

import click

from reconciler.cli import (
    agent_test,
    declare,
    demo,
    events_cmd,
    operations,
    resource_ops,
    runtime,
    simulate,
    waiting,
)
from reconciler.cli.export import export_group
from reconciler.cli.fence_cmd import fence_group
from reconciler.cli.importer import import_group
from reconciler.cli.store_cmd import store_group

ALL: list[click.Command] = [
    *declare.COMMANDS,
    demo.demo,
    import_group,
    runtime.agent,
    runtime.status,
    agent_test.agent_test,
    store_group,
    simulate.simulate,
    simulate.explain,
    export_group,
    *operations.COMMANDS,
    *resource_ops.COMMANDS,
    waiting.wait,
    events_cmd.events,
    fence_group,
]
