"""Structured logs (structlog): events with key/values, always on stderr.

stdout belongs to command output (`-o json` must parse), so logs never go there.
The CLI logs warnings and worse; the node agent logs info and worse, as JSON lines
when stderr is not a terminal so that log shippers can read them.
"""

from __future__ import annotations

import logging
import sys

import structlog


def configure(level: str = "warning", *, json_lines: bool | None = None) -> None:
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.WARNING)
    as_json = (not sys.stderr.isatty()) if json_lines is None else json_lines
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
