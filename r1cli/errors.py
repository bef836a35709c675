"""Errors meant for users.

Library code raises these; the CLI boundary (``r1cli.cli``) turns each into one
clear line on stderr and an exit code, and shows a traceback only with
``--debug``. Anything else that escapes is a bug and keeps its traceback.
"""

from __future__ import annotations


def first_line(exc: BaseException, limit: int = 200) -> str:
    """The first line of an exception's message (its type name when it has none), for one-line errors."""
    lines = str(exc).strip().splitlines()
    return (lines[0] if lines else type(exc).__name__)[:limit]


class R1Error(Exception):
    """Base class: a problem the user can fix. ``hint`` says how."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message} (hint: {self.hint})"


class UsageError(R1Error):
    """The command line itself is wrong (exit 2, like Click's usage errors)."""

    exit_code = 2


class ConfigError(R1Error):
    """A recipe cannot be read or is invalid; carries ``file:line`` when known."""


class RewardError(R1Error):
    """Unknown reward name, bad reward parameters, duplicate registration."""


class DataError(R1Error):
    """A dataset or JSONL input cannot be read, or lacks a needed column."""


class ModelError(R1Error):
    """A model or tokenizer cannot be found or loaded."""


class OutputExistsError(R1Error):
    """r1 never overwrites a file or run directory without --force/--overwrite."""
