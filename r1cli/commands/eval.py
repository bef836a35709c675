"""`r1 eval`: not available yet (lands with issue #5); says so and exits 2."""

from __future__ import annotations

from typing import Annotated

import typer

from r1cli.errors import NotYetAvailable


def eval_(models: Annotated[list[str] | None, typer.Argument(help="Model(s) to evaluate.", show_default=False)] = None) -> None:
    """Not yet available in this version of r1."""
    raise NotYetAvailable("`r1 eval` is not yet available in this version of r1.", hint="see CHANGELOG.md for what has landed")
