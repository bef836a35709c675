"""A validated recipe, ready for the trainer: :func:`load_recipe` and :class:`Recipe`.

``load_recipe`` runs the validator and raises one :class:`ConfigError` naming
every error (``r1 validate`` shows them with fixes). The :class:`Recipe` it
returns gives typed access to r1's keys (``recipe.r1``), any key by name
(``recipe.get``), and splits the values into what each TRL config class accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from r1cli.config.schema import R1_KEYS, R1Config
from r1cli.config.trl_fields import trl_fields
from r1cli.config.validate import LAYERS, ValidationReport, validate_recipe
from r1cli.errors import ConfigError


@dataclass
class Recipe:
    """A validated recipe: r1's keys typed as :class:`R1Config` (``recipe.r1``), any key by name (``recipe.get``).

    ``recipe.r1.max_train_minutes`` leads "go to definition" to the key's declaration in
    :mod:`r1cli.config.schema`; TRL's own keys (``learning_rate``, ``lora_r``...) are read with
    ``recipe.get(name)``, which falls back to TRL's default when the recipe does not set them.
    """

    path: Path
    values: dict[str, Any]
    report: ValidationReport
    overrides: tuple[str, ...] = ()  # the --set items, so a resume command can repeat them

    @property
    def r1(self) -> R1Config:
        """r1's own keys, typed, defaults filled in (read from ``values`` on each access)."""
        return R1Config(**{name: self.values[name] for name in R1_KEYS if name in self.values})

    def get(self, name: str, default: Any = None) -> Any:
        """Any key's value: as written or resolved, else TRL's default for its fields, else ``default``."""
        if name in self.values:
            return self.values[name]
        field = trl_fields().get(name)
        if field is not None and field.default != "<dynamic>":
            return field.default
        return default

    @property
    def trainer(self) -> str:
        return self.values["trainer"]

    def trl_kwargs(self, owner: str) -> dict[str, Any]:
        """Values written in the recipe that TRL's ``owner`` config (grpo, sft, model, script) accepts."""
        fields = trl_fields()
        return {k: v for k, v in self.values.items() if k in fields and owner in fields[k].owners}

    def r1_values(self) -> dict[str, Any]:
        return {k: self.values[k] for k in R1_KEYS}


def load_recipe(path: str | Path, overrides: list[str] | None = None, trainer: str | None = None,
                layers: tuple[str, ...] = LAYERS) -> Recipe:
    """Validate (the given :data:`~r1cli.config.validate.LAYERS`) and load; raises :class:`ConfigError` listing every error."""
    report = validate_recipe(path, overrides=overrides, trainer=trainer, layers=layers)
    if not report.ok:
        errors = report.errors
        lines = "\n  ".join(f.format() for f in errors)
        raise ConfigError(f"{len(errors)} error{'s' if len(errors) > 1 else ''} in {path}:\n  {lines}",
                          hint=f"run `r1 validate {path}` for details")
    report.values = expand_paths(report.values)
    return Recipe(path=Path(path), values=report.values, report=report, overrides=tuple(overrides or ()))


# The keys whose values are paths on this machine (or hub ids, which expansion leaves alone), listed once.
PATH_KEYS = ("output_dir", "model_name_or_path", "dataset_name", "eval_dataset_name", "chat_template",
             "accelerate_config", "logging_dir", "deepspeed", "resume_from_checkpoint")


def expand_path(value: Any) -> Any:
    """``~`` and ``$VAR``/``${VAR}`` expanded in a path string; anything else as it is.

    Done once, when the recipe is resolved, so r1's own writers and transformers
    (which would not expand them) read the same path. A chat template given as the
    template itself (it has ``{``, or several lines) is left alone.
    """
    import os

    if not isinstance(value, str) or "\n" in value or "{%" in value or "{{" in value:
        return value
    return os.path.expandvars(os.path.expanduser(value)) if value.startswith("~") or "$" in value else value


def expand_paths(values: dict[str, Any]) -> dict[str, Any]:
    """``values`` with every :data:`PATH_KEYS` value (and each dataset_mixture ``id``) expanded."""
    out = dict(values)
    for key in PATH_KEYS:
        if key in out:
            out[key] = expand_path(out[key])
    mixture = out.get("dataset_mixture")
    if isinstance(mixture, dict) and isinstance(mixture.get("datasets"), list):
        out["dataset_mixture"] = {**mixture, "datasets": [
            {**entry, "id": expand_path(entry.get("id"))} if isinstance(entry, dict) and "id" in entry else entry
            for entry in mixture["datasets"]]}
    return out


def optional_recipe(config: str | Path | None, overrides: list[str] | None,
                    layers: tuple[str, ...] = LAYERS) -> Recipe | None:
    """The recipe of an optional ``--config`` (validated for ``layers``), or None; ``--set`` without it is refused.

    For commands that take only some keys from a recipe (``r1 score``, ``r1 eval``): they pass the layers
    they depend on (e.g. :data:`~r1cli.config.validate.REWARD_LAYERS`), and which rewards they use is
    decided by :func:`r1cli.rewards.selection.calculator_for` from the recipe's values.
    """
    from r1cli.errors import UsageError

    if config is None:
        if overrides:
            raise UsageError("--set needs --config", hint="--set overrides keys of the recipe given with --config")
        return None
    return load_recipe(config, overrides=list(overrides or []), layers=layers)
