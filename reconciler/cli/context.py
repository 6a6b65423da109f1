"""What every command shares: global options, output format, and error handling.

A user mistake (HactlError) becomes one line on stderr and its exit code; anything
else is a bug and is reported as one line too, with the detail in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, replace
from typing import Any, Literal, ParamSpec, TypeVar

import click

from reconciler.errors import HactlError
from reconciler.store.base import Store

OutputFormat = Literal["table", "yaml", "json"]

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class CliContext:
    """Global options, resolved once: which store, which cluster, which output format."""

    store_url: str | None
    cluster: str
    output: OutputFormat
    tls: dict[str, str | None]

    def resolved_store_url(self) -> str:
        from reconciler.store.url import default_store_url

        return self.store_url or default_store_url()


def cli_context() -> CliContext:
    ctx = click.get_current_context()
    obj = ctx.find_object(CliContext)
    if obj is None:  # a command invoked outside the `hactl` group (tests)
        return CliContext(
            store_url=os.environ.get("HACTL_STORE"),
            cluster=os.environ.get("HACTL_CLUSTER", "default"),
            output="table",
            tls={},
        )
    return obj


def command_options(func: Callable[P, T]) -> Callable[P, T]:
    """Let `--store`, `--cluster` and `-o` also follow the command (`hactl status -o json`),
    as kubectl allows; given there, they override the same options given before it."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        ctx = click.get_current_context()
        base = cli_context()
        overrides: dict[str, Any] = {
            "store_url": kwargs.pop("store_url_override", None),
            "cluster": kwargs.pop("cluster_override", None),
            "output": kwargs.pop("output_override", None),
        }
        ctx.obj = replace(base, **{k: v for k, v in overrides.items() if v is not None})
        return func(*args, **kwargs)

    options = [
        click.option("--store", "store_url_override", metavar="URL", help="Store URL."),
        click.option("--cluster", "cluster_override", metavar="NAME", help="Cluster name."),
        click.option(
            "-o",
            "--output",
            "output_override",
            type=click.Choice(["table", "yaml", "json"]),
            help="Output format.",
        ),
    ]
    decorated: Any = wrapper
    for option in options:
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


def cli_store() -> Store:
    """The store the global options name, with their TLS/auth options for etcd."""
    from reconciler.store.url import open_store

    ctx = cli_context()
    tls = ctx.tls
    return open_store(
        ctx.resolved_store_url(),
        cacert=tls.get("cacert"),
        cert=tls.get("cert"),
        key=tls.get("key"),
        user=tls.get("user"),
    )


@contextlib.asynccontextmanager
async def open_cli_store() -> AsyncIterator[Store]:
    """The store the global options name, closed when the command is done."""
    store = cli_store()
    try:
        yield store
    finally:
        await store.close()


def fail(message: str, exit_code: int = 2) -> None:
    """Print one line to stderr and exit (for checks made in the CLI itself)."""
    click.echo(f"error: {message}", err=True)
    sys.exit(exit_code)


def handle_errors(func: Callable[P, T]) -> Callable[P, T]:
    """Turn HactlError into one stderr line and its exit code; never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return func(*args, **kwargs)
        except HactlError as exc:
            for line in exc.lines():
                click.echo(line, err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            sys.exit(130)
        except Exception as exc:  # a bug: still one line, the traceback on request
            if os.environ.get("HACTL_DEBUG"):
                raise
            click.echo(
                f"internal error: {type(exc).__name__}: {exc} (HACTL_DEBUG=1 shows the traceback)",
                err=True,
            )
            sys.exit(1)

    return wrapper


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one command's coroutine to completion."""
    return asyncio.run(coro)
