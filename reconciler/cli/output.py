"""Printing results: JSON and YAML for pipelines, rich tables for people."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from reconciler.changes import to_yaml


def print_json(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def print_yaml(data: Any) -> None:
    documents = data if isinstance(data, list) else [data]
    click.echo(to_yaml(documents), nl=False)


def print_table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    console = Console(soft_wrap=True, highlight=False)
    table = Table(box=None, pad_edge=False, show_edge=False, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    console.print(table)


def warn(line: str) -> None:
    click.echo(line, err=True)


def print_problems(lines: Sequence[str]) -> None:
    for line in lines:
        click.echo(line, err=True)
    sys.stderr.flush()
