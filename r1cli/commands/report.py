"""`r1 report RUN_DIR`: turn a run's metrics.jsonl into report.png and a self-contained report.html."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from r1cli.commands._options import ForceOpt


def report(
    run_dir: Annotated[Path, typer.Argument(help="Run directory of an r1 sft/grpo run.", metavar="RUN_DIR", show_default=False)],
    force: ForceOpt = False,
) -> None:
    """Plot rewards, accuracy, completion length and reject-sampling statistics over steps (PNG + HTML)."""
    from r1cli.reporting import write_report
    from r1cli.run_dir import RunDirectory
    from r1cli.ui.console import console

    png, page = write_report(RunDirectory(run_dir.expanduser()), force=force)
    console.print(f"wrote {png} and {page}", markup=False)
