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
        except KeyboardInterrupt:  # Ctrl-C outside training: one line and 130, not Click's "Aborted!" and 1
            if debug_enabled():
                raise
            from r1cli.ui.console import print_error

            print_error(R1Error("interrupted"))
            raise typer.Exit(130) from None

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
# Launch flags: shorthands for the recipe's launch keys (--num-processes 8 is --set num_processes=8).
AccelerateConfigOpt = Annotated[
    str | None,
    typer.Option("--accelerate-config", help="Run under `accelerate launch` with this config: ddp, zero2, zero3, fsdp "
                 "(shipped) or a YAML path.", show_default=False, metavar="NAME|PATH"),
]
NumProcessesOpt = Annotated[
    int | None,
    typer.Option("--num-processes", min=1, help="Processes in total across machines (one per GPU); >1 re-launches "
                 "under `accelerate launch`.", show_default=False, metavar="N"),
]
NumMachinesOpt = Annotated[
    int | None, typer.Option("--num-machines", min=1, help="Machines in a multi-node run.", show_default=False, metavar="N")
]
MachineRankOpt = Annotated[
    int | None,
    typer.Option("--machine-rank", min=0, help="This machine's index in a multi-node run (0 is the main one).",
                 show_default=False, metavar="N"),
]
MainProcessIpOpt = Annotated[
    str | None,
    typer.Option("--main-process-ip", help="Address of machine 0 in a multi-node run.", show_default=False, metavar="IP"),
]
MainProcessPortOpt = Annotated[
    int | None,
    typer.Option("--main-process-port", min=0, max=65535, help="Port where the processes meet (default 29500; 0: a "
                 "free port).", show_default=False, metavar="PORT"),
]
SkipInvalidOpt = Annotated[bool, typer.Option("--skip-invalid",
    help="Skip (and count) malformed lines instead of stopping at the first.")]
