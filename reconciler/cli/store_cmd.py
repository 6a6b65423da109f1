"""`hactl store status`: which store the command talks to, and how that store is doing.

For etcd: every member, the leader, the revision, and the endpoint in use (the one the
client fell back to, if the first was down) — what an operator checks first when a
cluster misbehaves. For the embedded store: its file, size and revision.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import click

from reconciler.cli.context import cli_context, command_options, handle_errors, open_cli_store, run
from reconciler.cli.output import print_json, print_table, print_yaml
from reconciler.store.base import StoreStatus


@click.group("store")
def store_group() -> None:
    """The store that holds the cluster's declared and observed state."""


@store_group.command("status")
@command_options
@handle_errors
def status() -> None:
    """Members, leader, revision and the endpoint in use (etcd); file, size, revision (SQLite)."""

    async def go() -> StoreStatus:
        async with open_cli_store() as store:
            return await store.status()

    result = run(go())
    output = cli_context().output
    if output in ("json", "yaml"):
        (print_json if output == "json" else print_yaml)(as_dict(result))
        return
    rows: list[tuple[str, Any]] = [
        ("backend", result.backend),
        ("endpoint", result.endpoint),
        ("revision", result.revision),
    ]
    if result.members:
        rows.append(("leader", result.leader or "(none)"))
    rows += [(name, value) for name, value in result.details.items() if value]
    print_table(["STORE", ""], rows)
    if result.members:
        click.echo()
        print_table(  # peer URLs only in -o json/yaml: a table row must fit 80 columns
            ["MEMBER", "ID", "CLIENT URLS", "ROLE"],
            [
                (m["name"], m["id"], m["client_urls"], _role(m, result.leader))
                for m in result.members
            ],
        )


def as_dict(result: StoreStatus) -> dict[str, Any]:
    """The status as `-o json/yaml` prints it (more keys may be added, never renamed)."""
    return dataclasses.asdict(result)


def _role(member: dict[str, str], leader: str | None) -> str:
    if member["name"] == leader:
        return "leader"
    return "learner" if member.get("learner") == "true" else "follower"
