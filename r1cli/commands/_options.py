"""Option aliases shared by every command, and the error boundary.

Commands declare parameters with these ``Annotated`` aliases so a flag is
spelled and documented the same way everywhere.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Annotated, Callable

import typer

from r1cli.errors import R1Error

_state = {"debug": False}


def set_debug(value: bool) -> None:
    _state["debug"] = value


def debug_enabled() -> bool:
    return _state["debug"] or os.environ.get("R1_DEBUG", "") not in ("", "0")


def cli_command(fn: Callable) -> Callable:
    """Turn :class:`R1Error` into one clear line and its exit code.

    Tracebacks are for bugs; a user error prints ``error: message`` and, when
    known, ``hint: how to fix it``. ``--debug`` re-raises so the traceback shows.
    """

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except R1Error as exc:
            if debug_enabled():
                raise
            from r1cli.ui.console import print_error

            print_error(exc)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


RecipeArg = Annotated[
    Path,
    typer.Argument(help="Recipe YAML file.", show_default=False, metavar="RECIPE"),
]
OverrideOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a recipe key: --set key=value (repeatable), typed by the schema.",
                 show_default=False, metavar="KEY=VALUE"),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Overwrite an existing output file.")]
OutputOpt = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write results to this file.", show_default=False, metavar="FILE")
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="Continue from the run directory's latest checkpoint.")]
OverwriteOpt = Annotated[bool, typer.Option("--overwrite", help="Delete a previous run in the run directory and start over.")]
LiveOpt = Annotated[
    bool | None,
    typer.Option("--live/--no-live", help="Live dashboard (default: on when stdout is a terminal; else one line per step).",
                 show_default=False),
]
