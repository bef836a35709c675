"""The "schema" layer of validation: keys, types, ranges, choices, finite numbers, and rules tying keys together.

Called by :func:`r1cli.config.validate.validate_recipe`; every check adds findings to a
:class:`~r1cli.config.loader.RawRecipe` and never raises. A value refused here (wrong type, out of
range) moves to ``raw.rejected``, so the later layers see the key's default instead of a value
they cannot use.
"""

from __future__ import annotations

import datetime
import difflib
import json
import math
from pathlib import Path
from typing import Any

from r1cli import hardware
from r1cli.config import types
from r1cli.config.loader import RawRecipe
from r1cli.config.schema import FOREIGN_KEYS, R1_KEYS, TRL_CONSTRAINTS, default_of
from r1cli.config.secrets import is_secret
from r1cli.config.trl_fields import trl_fields


def value_of(raw: RawRecipe, name: str) -> Any:
    """The value a check should use: as written (when it passed its own checks), else the default."""
    if name in raw.values:
        return raw.values[name]
    if name in R1_KEYS:
        return default_of(name)
    trl = trl_fields().get(name)
    return None if trl is None or trl.default == "<dynamic>" else trl.default


def annotation_of(name: str) -> str | None:
    if name in R1_KEYS:
        return str(R1_KEYS[name].type)
    trl = trl_fields().get(name)
    return trl.type if trl else None


def choices_of(name: str) -> tuple | None:
    if name in R1_KEYS:
        return R1_KEYS[name].metadata["choices"]
    trl = trl_fields().get(name)
    return trl.choices if trl else None


def _reject(raw: RawRecipe, name: str) -> None:
    raw.rejected[name] = raw.values.pop(name)


def check_keys_and_types(raw: RawRecipe, trainer: str) -> None:
    trl = trl_fields()
    vocabulary = sorted(set(R1_KEYS) | set(trl))
    for name in list(raw.values):
        value = raw.values[name]
        if name not in R1_KEYS and name not in trl:
            if name in FOREIGN_KEYS:  # open-r1's or TRL's script keys: a recipe written for them is not wrong
                raw.warning(name, f"not used by r1: {FOREIGN_KEYS[name]}", f"delete `{name}` (r1 ignores it)")
            else:
                close = difflib.get_close_matches(name, vocabulary, n=1, cutoff=0.75)
                raw.error(name, "unknown key",
                          f"did you mean `{close[0]}`?" if close else "see the config reference in the README")
            del raw.values[name]
            continue
        if name not in R1_KEYS and name in trl and trainer not in trl[name].owners and "model" not in trl[name].owners \
                and "script" not in trl[name].owners:
            owner = {"grpo": "GRPOConfig", "sft": "SFTConfig"}[trl[name].owners[0]]
            raw.warning(name, f"is a {owner} field; `r1 {trainer}` ignores it", "delete it or use the matching command")
        annotation = annotation_of(name)
        value = types.coerce(annotation, value)
        raw.values[name] = value
        choices = choices_of(name)
        if not _fits_or_is_a_choice(annotation, choices, value):
            inside, expected, found = types.misfit(annotation, value)
            where = f"{name}.{inside}" if inside else name
            raw.error(where, f"expected {types.expected_words(expected)}, got {shown(name, found)}",
                      _type_hint(expected, where, found, inside=bool(inside), secret=is_secret(name, found)))
            _reject(raw, name)
            continue
        if not _check_finite(raw, name, value) or not _check_range(raw, name, value, choices) \
                or not _check_mapping_text(raw, name, annotation, value):
            _reject(raw, name)


def _check_mapping_text(raw: RawRecipe, name: str, annotation: str, value: Any) -> bool:
    """A mapping key that also takes text (``gradient_checkpointing_kwargs: dict | str``): the text is JSON or a file."""
    if not isinstance(value, str) or "dict" not in annotation.lower() or types.fits(annotation.split("|")[0], value):
        return True
    text = value.strip()
    if text.startswith("{"):
        try:
            if isinstance(json.loads(text), dict):
                return True
        except ValueError:
            pass
    elif Path(text).expanduser().is_file():
        return True
    raw.error(name, f"{shown(name, value, typed=False)} is neither a mapping, JSON text of one, nor an existing file",
              f"write it as a YAML mapping, e.g. `{name}: {{key: value}}`")
    return False


def _fits_or_is_a_choice(annotation: str, choices: tuple | None, value: Any) -> bool:
    """A value of a key with choices is judged by the choices (a bad one gets a did-you-mean instead)."""
    if not choices:
        return types.fits(annotation, value)
    if isinstance(value, list):  # report_to: [wandb, tensorboard], where the annotation allows a list
        return types.fits(annotation, value)
    return isinstance(value, (str, int, float, bool)) or value is None


def shown(name: str, value: Any, typed: bool = True) -> str:
    """A wrong value as messages show it; a secret's value never appears (messages reach terminals and logs)."""
    if is_secret(name, value):
        return f"{types.kind_of(value)} (value hidden)" if typed else "the value (hidden)"
    return types.describe(value) if typed else repr(value)


def _type_hint(annotation: str, where: str, found: Any, *, inside: bool = False, secret: bool = False) -> str:
    """The fix for a value of the wrong kind, with an example of the right kind (an integer key: 3, a float key: 1.0e-5).

    Derived from the annotation (:func:`types.suggestion`), never from a table per key.
    """
    words = types.expected_words(annotation)
    if words in ("true or false", "true, false or null"):
        return "use true or false"
    suggested = types.suggestion(annotation, item=inside)
    if suggested is None:
        return "check the value's type in the config reference"
    kind, example = suggested
    if kind == "a text" and isinstance(found, (int, float, bool, datetime.date)) and not secret:
        # `system_prompt: 2024-01-01` or `hub_model_id: 123`: YAML read a date or a number; quotes keep it text
        return f'put it in quotes, e.g. `{where}: "{found}"`'
    return f"write {kind} there, e.g. `{example}`" if inside else f"write {kind}, e.g. `{where}: {example}`"


def _non_finite(value: Any, path: str) -> str | None:
    """The dotted path of the first NaN or infinity in ``value`` (lists and mappings included), or None."""
    if isinstance(value, float) and not math.isfinite(value):
        return path
    items = enumerate(value) if isinstance(value, list) else value.items() if isinstance(value, dict) else ()
    for index, item in items:
        found = _non_finite(item, f"{path}.{index}")
        if found:
            return found
    return None


def _check_finite(raw: RawRecipe, name: str, value: Any) -> bool:
    where = _non_finite(value, name)
    if where is None:
        return True
    raw.error(where, "is not a finite number (YAML's .nan / .inf): no setting means either", "write a number such as 1.0e-5")
    return False


def _bad_choice(raw: RawRecipe, name: str, value: Any, choices: tuple) -> None:
    listed = ", ".join(str(c) for c in choices)
    close = difflib.get_close_matches(str(value), [str(c) for c in choices if c is not None], n=1)
    raw.error(name, f"{shown(name, value, typed=False)} is not one of {listed}",
              f"did you mean `{close[0]}`?" if close else f"pick one of {listed}")


def _check_range(raw: RawRecipe, name: str, value: Any, choices: tuple | None) -> bool:
    """Choices and ranges; False when the value is refused."""
    whole = False
    if name in R1_KEYS:
        meta = R1_KEYS[name].metadata
        low, high, exclusive = meta["min"], meta["max"], meta["min_exclusive"]
        whole = bool(meta.get("whole"))
    elif name in TRL_CONSTRAINTS:
        low, high, exclusive = TRL_CONSTRAINTS[name]
    else:
        low = high = None
        exclusive = False
    if choices:
        for item in value if isinstance(value, list) else [value]:
            if item not in choices or isinstance(item, bool) != any(isinstance(c, bool) and c == item for c in choices):
                _bad_choice(raw, name, item, choices)
                return False
        return True
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return True
    if low is not None and (value < low or (exclusive and value == low)):
        sign = ">" if exclusive else ">="
        raw.error(name, f"{value} is out of range: must be {sign} {low}", f"set {name} {sign} {low}")
    elif high is not None and value > high:
        raw.error(name, f"{value} is out of range: must be <= {high}", f"set {name} <= {high}")
    elif whole and value >= 1 and value != int(value):
        raw.error(name, f"{value} is not a whole number", f"set {name} to a whole number (or below 1: a fraction)")
    else:
        return True
    return False


def check_cross_fields(raw: RawRecipe, trainer: str) -> None:
    """Rules that tie keys together and need nothing outside the recipe (part of the "schema" layer)."""
    evaluates = value_of(raw, "eval_steps") is not None or value_of(raw, "eval_on_start")
    if evaluates and not value_of(raw, "eval_dataset_name") and not value_of(raw, "eval_dataset_split"):
        key = "eval_steps" if "eval_steps" in raw.values else "eval_on_start"
        raw.error(key, "real-time evaluation is on but there is no eval dataset",
                  "set eval_dataset_name (or eval_dataset_split for a split of dataset_name)")
    eval_steps, max_steps = value_of(raw, "eval_steps"), value_of(raw, "max_steps")
    if isinstance(eval_steps, (int, float)) and eval_steps >= 1 and isinstance(max_steps, int) and 0 < max_steps < eval_steps:
        raw.warning("eval_steps", f"{eval_steps:g} is more than max_steps ({max_steps}): no evaluation during the run "
                    "except after the last step", f"set eval_steps <= {max_steps}, or a fraction such as 0.25")
    warmup = value_of(raw, "warmup_steps")
    if "warmup_steps" in raw.values and isinstance(warmup, float) and warmup >= 1 and warmup != int(warmup):
        raw.warning("warmup_steps", f"{warmup:g} is neither a ratio (below 1) nor a whole number of steps; "
                    f"transformers warms up for {int(warmup)} steps", "write a ratio below 1 (e.g. 0.1) or a number of steps")
    if value_of(raw, "trust_remote_code"):
        raw.warning("trust_remote_code", "on: Python code from the model or dataset repository will run",
                    "turn it off unless you trust the repository")
    if (value_of(raw, "bf16") or value_of(raw, "fp16")) and not hardware.has_gpu():
        key = "bf16" if value_of(raw, "bf16") else "fp16"
        raw.warning(key, "mixed precision needs a GPU; r1 trains in float32 on this CPU machine", f"set {key}: false")
    if value_of(raw, "dtype") == "float16" and not hardware.has_gpu():
        raw.warning("dtype", "float16 weights on a CPU: slow, some operations are missing, and training overflows easily",
                    "use dtype: auto (float32 on a CPU)")
