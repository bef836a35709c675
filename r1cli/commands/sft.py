"""`r1 sft`: not available yet (lands with issue #4); says so and exits 2."""

from __future__ import annotations

from r1cli.commands._options import RecipeArg
from r1cli.errors import NotYetAvailable


def sft(recipe: RecipeArg) -> None:
    """Not yet available in this version of r1."""
    raise NotYetAvailable("`r1 sft` is not yet available in this version of r1.", hint="see CHANGELOG.md for what has landed")
