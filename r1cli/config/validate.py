"""Validating a recipe without running anything: every problem at once, each with ``file:line``.

:func:`validate_recipe` reads the YAML (:mod:`r1cli.config.loader`), applies
``--set`` overrides (through the same YAML guards as the file), and runs the
checks by layer: :mod:`~r1cli.config.check_values` (keys, types, ranges,
choices), :mod:`~r1cli.config.check_rewards`, :mod:`~r1cli.config.check_paths`
and :mod:`~r1cli.config.check_machine` (the recipe against this machine). It
imports neither torch nor TRL: TRL's fields come from
:mod:`r1cli.config.trl_fields`, rewards from the registry (which loads only
what a recipe names). ``deep=True`` adds the slower checks that load the
tokenizer and the first rows of the dataset (:mod:`r1cli.config.deep`).

A finding is an error (the recipe is wrong), a warning, or a *machine* finding:
the recipe may be right but this machine cannot run it. Machine findings are
warnings unless ``here=True`` (``r1 validate --here``; ``r1 grpo`` / ``r1 sft``
refuse them before building anything).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from r1cli.config.check_machine import check_accelerators, check_launch
from r1cli.config.check_paths import LOCAL_SUFFIXES, check_paths, looks_local  # noqa: F401  (re-exported)
from r1cli.config.check_rewards import check_reward_layer
from r1cli.config.check_values import annotation_of, check_cross_fields, check_keys_and_types, value_of
from r1cli.config.loader import Finding, RawRecipe, read_recipe, read_value
from r1cli.config.schema import FOREIGN_KEYS, OPENR1_REWARD_KEYS, R1_KEYS, RENAMED_KEYS, default_of
from r1cli.config.trl_fields import trl_fields
from r1cli.errors import UsageError
from r1cli.hardware import package_available  # noqa: F401  (tests patch it here)

__all__ = ["LAYERS", "REWARD_LAYERS", "ValidationReport", "annotation_of", "known_keys", "looks_local",
           "parse_override", "validate_recipe"]


@dataclass
class ValidationReport:
    """What ``r1 validate`` found. ``values`` is the resolved recipe (defaults filled in)."""

    path: Path
    findings: list[Finding] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)
    preview: str | None = None  # with --deep: the first prompt exactly as the model sees it

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def machine(self) -> list[Finding]:
        """What this machine cannot run (warnings, or errors under ``here=True``)."""
        return [f for f in self.findings if f.kind == "machine"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"file": str(self.path), "valid": self.ok, "preview": self.preview,
                "errors": [vars(f) for f in self.errors], "warnings": [vars(f) for f in self.warnings]}


def known_keys() -> set[str]:
    return set(R1_KEYS) | set(trl_fields()) | set(RENAMED_KEYS) | set(OPENR1_REWARD_KEYS) | set(FOREIGN_KEYS)


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` -> (key, YAML-typed value). Raises :class:`UsageError` without ``=`` or for YAML a recipe may not hold."""
    name, sep, text = item.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--set {item!r} is not key=value", hint="e.g. --set learning_rate=1e-5")
    value, problem = read_value(text)
    if problem is not None:
        raise UsageError(f"--set {name.strip()}: {problem[0]}", hint=problem[1])
    return name.strip(), _comma_list(name.strip(), value)


def _comma_list(name: str, value: Any) -> Any:
    """``--set reward_funcs=accuracy,format``: a comma list for a key whose type is a list, as other flags take."""
    if not isinstance(value, str) or "," not in value:
        return value
    from r1cli.config.schema import R1_KEYS
    from r1cli.config.trl_fields import trl_fields

    field = R1_KEYS.get(name) or trl_fields().get(name)
    if field is None or "list[" not in str(field.type):
        return value
    return [read_value(part.strip())[0] for part in value.split(",") if part.strip()]


def _apply_overrides(raw: RawRecipe, overrides: list[str]) -> None:
    for item in overrides:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            parse_override(item)  # raises the usage error
        name = name.strip()
        raw.lines[name] = 0  # line 0 marks a value that came from the command line
        for dotted in [k for k in raw.lines if k.startswith(f"{name}.")]:
            raw.lines[dotted] = 0  # its items too: they are the --set value's now
        value, problem = read_value(text)
        if problem is not None:
            raw.values.pop(name, None)
            raw.error(name, problem[0], problem[1])
        else:
            raw.values[name] = _comma_list(name, value)


def _rename_legacy_keys(raw: RawRecipe) -> None:
    for old, (new, why) in RENAMED_KEYS.items():
        if old not in raw.values:
            continue
        value = raw.values.pop(old)
        if new is None:
            raw.warning(old, f"ignored: {why}", f"delete `{old}`")
        elif new in raw.values:
            raw.warning(old, f"ignored because `{new}` is also set ({why})", f"delete `{old}`")
        else:
            raw.values[new] = value
            raw.lines.setdefault(new, raw.lines.get(old, 0))
            raw.warning(old, f"deprecated: {why}; used as `{new}`", f"rename `{old}` to `{new}`")
    moved = [k for k in OPENR1_REWARD_KEYS if k in raw.values]
    if moved:
        kwargs = raw.values.setdefault("reward_kwargs", {}) or {}
        if isinstance(kwargs, dict):
            for flat in moved:
                reward, param = OPENR1_REWARD_KEYS[flat]
                params = kwargs.setdefault(reward, {})
                if isinstance(params, dict):
                    params.setdefault(param, raw.values.pop(flat))
                    raw.lines.setdefault(f"reward_kwargs.{reward}.{param}", raw.lines.get(flat, 0))
            raw.values["reward_kwargs"] = kwargs


# Validation layers, cheapest first; a command chooses the ones it depends on.
#   schema   keys, types, ranges, choices and the rules tying keys together (always checked)
#   rewards  reward names, weights, parameters (imports a custom reward file only when named)
#   paths    a model and data are given, and local paths exist on this machine
#   launch   accelerators, process layout and the batch arithmetic that depends on it
LAYERS = ("schema", "rewards", "paths", "launch")
# What a command that only scores needs (r1 score / r1 eval --config): not the model or data of the run.
REWARD_LAYERS = ("schema", "rewards")


def validate_recipe(path: str | Path, overrides: list[str] | None = None, trainer: str | None = None,
                    deep: bool = False, layers: tuple[str, ...] = LAYERS, here: bool = False) -> ValidationReport:
    """Check a recipe and return every finding; never raises for problems in the recipe itself.

    ``layers`` (see :data:`LAYERS`) selects what is checked beyond the schema; ``deep`` adds the checks
    that load the tokenizer and the first data rows; ``here`` makes what this machine cannot run an error.
    """
    unknown = set(layers) - set(LAYERS)
    if unknown:
        raise ValueError(f"unknown validation layers: {', '.join(sorted(unknown))}")
    raw = read_recipe(path)
    report = ValidationReport(path=Path(path))
    if raw.findings and any(f.severity == "error" for f in raw.findings) and not raw.values:
        report.findings = raw.findings
        return report
    _apply_overrides(raw, overrides or [])
    _rename_legacy_keys(raw)
    if trainer:
        raw.values["trainer"] = trainer
    chosen = raw.values.get("trainer", default_of("trainer"))
    chosen = chosen if chosen in ("grpo", "sft") else "grpo"
    check_keys_and_types(raw, chosen)
    check_cross_fields(raw, chosen)
    if "rewards" in layers:
        check_reward_layer(raw, chosen)
    if "paths" in layers:
        check_paths(raw)
    if "launch" in layers:
        check_accelerators(raw)
        check_launch(raw, chosen)
    if here:
        raw.findings = [replace(f, severity="error") if f.kind == "machine" else f for f in raw.findings]
    report.values = {name: value_of(raw, name) for name in R1_KEYS} | raw.values
    report.lines = raw.lines
    if deep and "paths" in layers and not any(f.severity == "error" for f in raw.findings):
        from r1cli.config.deep import deep_checks

        report.preview = deep_checks(raw, report.values)
    report.findings = sorted(raw.findings, key=lambda f: (f.severity != "error", f.line or 0))
    return report
