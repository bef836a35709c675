"""Recipes: the schema, reading YAML with line numbers, overrides, validation.

Public API: :func:`load_recipe`, :func:`validate_recipe`, :class:`Recipe`,
:class:`ValidationReport`, :class:`Finding`. Nothing here imports torch.
"""

from r1cli.config.loader import Finding
from r1cli.config.recipe import Recipe, load_recipe
from r1cli.config.validate import ValidationReport, validate_recipe

__all__ = ["Finding", "Recipe", "ValidationReport", "load_recipe", "validate_recipe"]
