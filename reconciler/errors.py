"""The few exception types that cross layers, each mapped to one CLI exit code.

Errors carry intent (see STYLE.md): a user mistake is not a crash, a store that
cannot be reached is not a user mistake.
"""

from __future__ import annotations


class HactlError(Exception):
    """Base of every error hactl raises on purpose."""

    exit_code = 1

    def lines(self) -> list[str]:
        """What the CLI prints: one line per problem."""
        return [f"error: {self}"]


class UsageError(HactlError):
    """Bad input from the user: a wrong flag, a malformed manifest. Exit code 2."""

    exit_code = 2


class StoreUnavailable(HactlError):
    """The store could not be reached or did not answer before the deadline. Exit code 3."""

    exit_code = 3
