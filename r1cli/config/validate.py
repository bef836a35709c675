"""Validating a recipe without running anything: every problem at once, each with ``file:line``.

:func:`validate_recipe` reads the YAML (:mod:`r1cli.config.loader`), applies
``--set`` overrides, and checks keys, types, ranges and the rules that tie
keys together. It imports neither torch nor TRL: TRL's fields come from
:mod:`r1cli.config.trl_fields`, rewards from the registry (which loads only
what a recipe names). ``deep=True`` adds the slower checks that load the
tokenizer and the first rows of the dataset (:mod:`r1cli.config.deep`).
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from r1cli.config import types
from r1cli.config.loader import Finding, RawRecipe, read_recipe
from r1cli.config.secrets import is_secret
from r1cli.config.schema import OPENR1_REWARD_KEYS, R1_KEYS, RENAMED_KEYS, TRL_CONSTRAINTS, default_of
from r1cli.config.trl_fields import trl_fields
from r1cli.errors import R1Error, UsageError
from r1cli.hardware import has_gpu, package_available

# Files that mark a directory written by datasets' save_to_disk (as r1cli.data.sources reads it).
_SAVED_DATASET = ("dataset_info.json", "state.json", "dataset_dict.json")
LOCAL_SUFFIXES = {".jsonl", ".json", ".parquet", ".csv", ".gguf", ".yaml", ".yml", ".txt", ".arrow"}


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
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> dict:
        return {"file": str(self.path), "valid": self.ok, "preview": self.preview,
                "errors": [vars(f) for f in self.errors], "warnings": [vars(f) for f in self.warnings]}


def known_keys() -> set[str]:
    return set(R1_KEYS) | set(trl_fields()) | set(RENAMED_KEYS) | set(OPENR1_REWARD_KEYS)


def annotation_of(name: str) -> str | None:
    if name in R1_KEYS:
        return str(R1_KEYS[name].type)
    trl = trl_fields().get(name)
    return trl.type if trl else None


def parse_override(item: str) -> tuple[str, Any]:
    """``key=value`` -> (key, YAML-typed value). Raises :class:`UsageError` without ``=``."""
    name, sep, text = item.partition("=")
    if not sep or not name.strip():
        raise UsageError(f"--set {item!r} is not key=value", hint="e.g. --set learning_rate=1e-5")
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError:
        value = text
    return name.strip(), value


def _apply_overrides(raw: RawRecipe, overrides: list[str]) -> None:
    for item in overrides:
        name, value = parse_override(item)
        raw.values[name] = value
        raw.lines[name] = 0  # line 0 marks a value that came from the command line


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
                kwargs.setdefault(reward, {}).setdefault(param, raw.values.pop(flat))
                raw.lines.setdefault(f"reward_kwargs.{reward}.{param}", raw.lines.get(flat, 0))
            raw.values["reward_kwargs"] = kwargs


def _check_keys_and_types(raw: RawRecipe, trainer: str) -> None:
    trl = trl_fields()
    vocabulary = sorted(set(R1_KEYS) | set(trl))
    for name in list(raw.values):
        value = raw.values[name]
        if name not in R1_KEYS and name not in trl:
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
        has_choices = bool(R1_KEYS[name].metadata["choices"]) if name in R1_KEYS else bool(trl[name].choices)
        if not has_choices and not types.fits(annotation, value):  # a bad choice gets a did-you-mean instead
            raw.error(name, f"expected {annotation}, got {_shown(name, value)}", _type_hint(annotation, name))
            continue
        _check_range(raw, name, value)


def _shown(name: str, value: Any, typed: bool = True) -> str:
    """A wrong value as messages show it; a secret's value never appears (messages reach terminals and logs)."""
    if is_secret(name, value):
        return f"{type(value).__name__} (value hidden)" if typed else "the value (hidden)"
    return types.describe(value) if typed else repr(value)


def _type_hint(annotation: str, name: str) -> str:
    if annotation.startswith("list"):
        return f"write a YAML list, e.g. `{name}: [a, b]`"
    if "bool" in annotation and "str" not in annotation:
        return "use true or false"
    if "float" in annotation or "int" in annotation:
        return "write a plain number such as 3 or 1.0e-5"
    return "check the value's type in the config reference"


def _check_range(raw: RawRecipe, name: str, value: Any) -> None:
    whole = False
    if name in R1_KEYS:
        meta = R1_KEYS[name].metadata
        low, high, exclusive, choices = meta["min"], meta["max"], meta["min_exclusive"], meta["choices"]
        whole = bool(meta.get("whole"))
    elif name in TRL_CONSTRAINTS:
        (low, high, exclusive), choices = TRL_CONSTRAINTS[name], trl_fields()[name].choices
    else:
        low = high = None
        exclusive, choices = False, trl_fields()[name].choices
    if choices and value not in choices:
        close = difflib.get_close_matches(str(value), [str(c) for c in choices if c is not None], n=1)
        raw.error(name, f"{_shown(name, value, typed=False)} is not one of {', '.join(str(c) for c in choices)}",
                  f"did you mean `{close[0]}`?" if close else f"pick one of {', '.join(str(c) for c in choices)}")
        return
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return
    if not math.isfinite(value):  # YAML's .nan and .inf: no setting means either
        raw.error(name, f"{value} is not a finite number", "write a number such as 1.0e-5")
        return
    if low is not None and (value < low or (exclusive and value == low)):
        sign = ">" if exclusive else ">="
        raw.error(name, f"{value} is out of range: must be {sign} {low}", f"set {name} {sign} {low}")
    elif high is not None and value > high:
        raw.error(name, f"{value} is out of range: must be <= {high}", f"set {name} <= {high}")
    elif whole and value >= 1 and value != int(value):
        raw.error(name, f"{value} is not a whole number", f"set {name} to a whole number (or below 1: a fraction)")


def _value(raw: RawRecipe, name: str) -> Any:
    if name in raw.values:
        return raw.values[name]
    if name in R1_KEYS:
        return default_of(name)
    trl = trl_fields().get(name)
    return None if trl is None or trl.default == "<dynamic>" else trl.default


def looks_local(text: str) -> bool:
    """A path the user means to be on this machine (a hub id never looks like this)."""
    return text.startswith(("/", "./", "../", "~")) or Path(text).suffix.lower() in LOCAL_SUFFIXES


def _check_path(raw: RawRecipe, name: str, what: str, value: Any = None) -> None:
    value = raw.values.get(name) if value is None else value
    if isinstance(value, str) and looks_local(value) and not Path(value).expanduser().exists():
        raw.error(name, f"{what} {value!r} does not exist", "fix the path (relative paths start from the current directory)")


def _check_data_path(raw: RawRecipe, name: str, what: str, value: Any = None) -> None:
    """A local dataset: a data file, or a directory holding data files (or a saved dataset)."""
    from r1cli.data.sources import FILE_BUILDERS

    value = raw.values.get(name) if value is None else value
    _check_path(raw, name, what, value)
    path = Path(value).expanduser() if isinstance(value, str) else None
    if path is None or not path.is_dir() or any((path / marker).exists() for marker in _SAVED_DATASET):
        return
    if not any(p.suffix.lower() in FILE_BUILDERS for p in path.iterdir()):
        raw.error(name, f"{what} {value!r} is a directory with no {', '.join(FILE_BUILDERS)} files",
                  "point it at a data file, or at a directory of them")


def _check_local_files(raw: RawRecipe) -> None:
    """Paths that must be files or directories of the right kind."""
    _check_path(raw, "model_name_or_path", "model path")
    _check_data_path(raw, "dataset_name", "dataset file")
    _check_data_path(raw, "eval_dataset_name", "eval dataset file")
    mixture = raw.values.get("dataset_mixture")
    entries = mixture.get("datasets") if isinstance(mixture, dict) else None
    for entry in entries if isinstance(entries, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("id"), str):
            _check_data_path(raw, "dataset_mixture", "dataset_mixture file", entry["id"])
    template = raw.values.get("chat_template")
    if isinstance(template, str) and "{" not in template and template.endswith((".jinja", ".j2", ".txt")) \
            and not Path(template).expanduser().is_file():
        raw.error("chat_template", f"chat template file {template!r} does not exist or is not a file",
                  "give the path of a Jinja file, or the template itself")
    output_dir = raw.values.get("output_dir")
    if isinstance(output_dir, str) and Path(output_dir).expanduser().exists() and not Path(output_dir).expanduser().is_dir():
        raw.error("output_dir", f"{output_dir!r} is a file; the run directory must be a directory",
                  "choose another output_dir")


def _check_builtin_model(raw: RawRecipe) -> None:
    from r1cli.models.catalog import BUILTIN_MODELS, is_available

    name = raw.values.get("model_name_or_path")
    if name in BUILTIN_MODELS and not is_available(name):
        raw.error("model_name_or_path", f"the built-in model {name!r} is not installed", BUILTIN_MODELS[name].install)


def _check_rewards(raw: RawRecipe) -> list[tuple[float, float] | None]:
    """Reward names, weights and parameters; returns each reward's (min, max) when known."""
    from r1cli.rewards.registry import check_reward_kwargs, get_reward_spec

    funcs = _value(raw, "reward_funcs") or []
    weights = _value(raw, "reward_weights")
    ranges: list[tuple[float, float] | None] = []
    if not isinstance(funcs, list):
        return ranges
    for index, name in enumerate(funcs):
        try:
            ranges.append(get_reward_spec(str(name)).range)
        except R1Error as exc:
            raw.error(f"reward_funcs.{index}", exc.message, exc.hint)
            ranges.append(None)
    if isinstance(weights, list) and len(weights) != len(funcs):
        raw.error("reward_weights", f"{len(weights)} weights for {len(funcs)} reward functions",
                  "give exactly one weight per entry of reward_funcs")
    kwargs = _value(raw, "reward_kwargs") or {}
    for reward, params in kwargs.items() if isinstance(kwargs, dict) else []:
        where = f"reward_kwargs.{reward}"
        if reward not in funcs:
            raw.error(where, f"parameters for `{reward}`, which is not in reward_funcs",
                      f"add {reward} to reward_funcs or delete these parameters")
            continue
        try:
            check_reward_kwargs(reward, params if isinstance(params, dict) else {})
        except R1Error as exc:
            raw.error(where, exc.message, exc.hint)
        if not isinstance(params, dict):
            raw.error(where, "expected a mapping of parameter: value", f"e.g. `{reward}: {{param: value}}`")
    return ranges


def _check_reachable_threshold(raw: RawRecipe, ranges: list[tuple[float, float] | None]) -> None:
    threshold = _value(raw, "reject_sampling_threshold")
    if not types.fits("float", threshold) or not math.isfinite(threshold) or not ranges or any(r is None for r in ranges):
        return  # no threshold, or one already reported as the wrong type or not finite
    weights = _value(raw, "reward_weights")
    weights = weights if isinstance(weights, list) and len(weights) == len(ranges) else [1.0] * len(ranges)
    best = sum(w * (hi if w >= 0 else lo) for w, (lo, hi) in zip(weights, ranges))
    worst = sum(w * (lo if w >= 0 else hi) for w, (lo, hi) in zip(weights, ranges))
    if threshold > best:
        raw.error("reject_sampling_threshold", f"{threshold} is above the best total the rewards can reach ({best:g})",
                  f"set it at most {best:g}")
    elif threshold <= worst:
        raw.warning("reject_sampling_threshold", f"{threshold} is at or below the worst possible total ({worst:g}); it never rejects",
                    "raise it or delete it")


def _check_paths(raw: RawRecipe) -> None:
    """The "paths" layer: a model and data are given, and local paths exist on this machine."""
    if not _value(raw, "model_name_or_path"):
        raw.error("model_name_or_path", "no model given", "add `model_name_or_path: <hub id or local path>`", line=1)
    if not _value(raw, "dataset_name") and not _value(raw, "dataset_mixture"):
        raw.error("dataset_name", "no training data given", "add `dataset_name: <hub id or local file>`", line=1)
    _check_local_files(raw)
    _check_builtin_model(raw)


def _check_reward_layer(raw: RawRecipe, trainer: str) -> None:
    """The "rewards" layer: reward names, weights, parameters and the reject-sampling threshold."""
    if trainer == "grpo":
        _check_reachable_threshold(raw, _check_rewards(raw))


def _check_cross_fields(raw: RawRecipe, trainer: str) -> None:
    """Rules that tie keys together and need nothing outside the recipe (part of the "schema" layer)."""
    evaluates = _value(raw, "eval_steps") is not None or _value(raw, "eval_on_start")
    if evaluates and not _value(raw, "eval_dataset_name") and not _value(raw, "eval_dataset_split"):
        key = "eval_steps" if "eval_steps" in raw.values else "eval_on_start"
        raw.error(key, "real-time evaluation is on but there is no eval dataset",
                  "set eval_dataset_name (or eval_dataset_split for a split of dataset_name)")
    if _value(raw, "trust_remote_code"):
        raw.warning("trust_remote_code", "on: Python code from the model or dataset repository will run",
                    "turn it off unless you trust the repository")
    if (_value(raw, "bf16") or _value(raw, "fp16")) and not has_gpu():
        key = "bf16" if _value(raw, "bf16") else "fp16"
        raw.warning(key, "mixed precision needs a GPU; r1 trains in float32 on this CPU machine", f"set {key}: false")


def _check_accelerators(raw: RawRecipe) -> None:
    """vLLM, Liger kernels and 4/8-bit loading: installed, and a GPU to run them on."""
    from r1cli import hardware

    if _value(raw, "load_in_4bit") and _value(raw, "load_in_8bit"):
        raw.error("load_in_4bit", "load_in_4bit and load_in_8bit are both on", "choose one")
    for key_name, package, what in (("use_vllm", "vllm", "vLLM generation"), ("use_liger_kernel", "liger_kernel", "Liger kernels"),
                                    ("load_in_4bit", "bitsandbytes", "4-bit loading"), ("load_in_8bit", "bitsandbytes", "8-bit loading")):
        if not _value(raw, key_name):
            continue
        problem = hardware.vllm_problem() if package == "vllm" else hardware.gpu_package_problem(package)
        if problem is None:
            continue
        fix = (f"pip install {package.replace('_', '-')} (GPU only), or set {key_name}: false" if problem.missing == "package"
               else f"set {key_name}: false on this machine")
        raw.error(key_name, f"{what} needs {problem.reason}", fix)
    for bits in ("load_in_4bit", "load_in_8bit"):
        if _value(raw, bits) and not _value(raw, "use_peft"):
            raw.error(bits, "quantized weights cannot be trained directly; QLoRA trains LoRA adapters on top of them",
                      f"add `use_peft: true`, or set {bits}: false")
    mode = _value(raw, "vllm_mode")
    if "vllm_mode" in raw.values and mode not in ("colocate", "server"):
        close = difflib.get_close_matches(str(mode), ["colocate", "server"], n=1)
        raw.error("vllm_mode", f"{mode!r} is not one of colocate, server",
                  f"did you mean `{close[0]}`?" if close else "colocate shares the training GPUs; server uses `r1 vllm-serve`")
    if _value(raw, "use_vllm") and mode == "server" and not _value(raw, "vllm_server_base_url") \
            and _value(raw, "vllm_server_host") in ("0.0.0.0", "", None) and (_value(raw, "num_machines") or 1) > 1:
        raw.error("vllm_server_host", "a multi-node run needs the vLLM server's address, not 0.0.0.0",
                  "set vllm_server_host to the machine running `r1 vllm-serve`")


def _check_launch(raw: RawRecipe, trainer: str) -> None:
    """Launch settings: the accelerate config, the process layout against this machine, the global batch."""
    from r1cli.hardware import gpu_count
    from r1cli.config.launch import launch_plan

    try:
        plan = launch_plan({name: _value(raw, name) for name in R1_KEYS} | raw.values, gpus=gpu_count())
    except R1Error as exc:
        raw.error("accelerate_config" if _value(raw, "accelerate_config") else "num_processes", exc.message, exc.hint)
        plan = None
    except (TypeError, ValueError):
        plan = None  # a launch key of the wrong type, already reported
    processes = plan.num_processes if plan else 1
    machines = _value(raw, "num_machines") or 1
    rank = _value(raw, "machine_rank") or 0
    port = _value(raw, "main_process_port")
    if isinstance(machines, int) and isinstance(rank, int) and rank >= machines:
        raw.error("machine_rank", f"{rank} is not below num_machines ({machines})", f"use 0 to {machines - 1}")
    if isinstance(machines, int) and machines > 1:
        if not _value(raw, "main_process_ip"):
            raw.error("num_machines", "a multi-node run needs main_process_ip (the address of machine 0)",
                      "set main_process_ip, or pass --main-process-ip")
        if port == 0:
            raw.error("main_process_port", "0 (a free port) works on one machine only: the others must know the port",
                      "choose a port, e.g. 29500")
        if processes % machines:
            raw.error("num_processes", f"{processes} processes do not split evenly over {machines} machines",
                      f"use a multiple of {machines}")
    if plan is not None:
        _check_devices(raw, plan)
    if trainer == "grpo":
        _check_global_batch(raw, processes)


def _check_devices(raw: RawRecipe, plan) -> None:
    """Can this machine run the launch? Where it has no GPU at all (a laptop, a login node) the recipe is
    probably meant for another machine: warnings then; `r1 grpo` / `r1 sft` still refuse to launch it here."""
    from r1cli.hardware import gpu_count
    from r1cli.config.launch import launch_problems

    gpus = gpu_count()
    key = "accelerate_config" if _value(raw, "accelerate_config") else "num_processes"
    for problem in launch_problems(plan, gpus=gpus, deepspeed_installed=package_available("deepspeed"), key=key):
        report = raw.error if gpus else raw.warning
        report(problem.key, problem.message if gpus else f"{problem.message} (on this machine)", problem.hint)
    if gpus == 0 and plan.num_processes > 1 and plan.distributed_type not in ("DEEPSPEED", "FSDP"):
        raw.warning("num_processes", f"no GPU is visible: the {plan.num_processes} processes will train on the CPU (gloo)",
                    "fine for a test; on a GPU machine each process gets its own GPU")


def _check_global_batch(raw: RawRecipe, processes: int) -> None:
    # TRL generates per_device_train_batch_size x processes x steps_per_generation completions at once
    # (or generation_batch_size), in groups of num_generations.
    generations = _value(raw, "num_generations") or 8
    per_device = _value(raw, "per_device_train_batch_size") or 8
    generation_batch = _value(raw, "generation_batch_size")
    steps = _value(raw, "steps_per_generation") or _value(raw, "gradient_accumulation_steps") or 1
    if generation_batch is None and all(isinstance(v, int) for v in (per_device, steps)):
        generation_batch = per_device * processes * steps
    if isinstance(generation_batch, int) and isinstance(generations, int) and generations > 0 \
            and generation_batch % generations:
        across = f" x {processes} processes" if processes > 1 else ""
        raw.error("num_generations", f"the generation batch ({generation_batch} completions = per_device_train_batch_size"
                  f"{across} x steps_per_generation) is not divisible by num_generations ({generations})",
                  "make per_device_train_batch_size x processes x gradient_accumulation_steps a multiple of num_generations")


# Validation layers, cheapest first; a command chooses the ones it depends on.
#   schema   keys, types, ranges, choices and the rules tying keys together (always checked)
#   rewards  reward names, weights, parameters (imports a custom reward file only when named)
#   paths    a model and data are given, and local paths exist on this machine
#   launch   accelerators, process layout and the batch arithmetic that depends on it
LAYERS = ("schema", "rewards", "paths", "launch")
# What a command that only scores needs (r1 score / r1 eval --config): not the model or data of the run.
REWARD_LAYERS = ("schema", "rewards")


def validate_recipe(path: str | Path, overrides: list[str] | None = None, trainer: str | None = None,
                    deep: bool = False, layers: tuple[str, ...] = LAYERS) -> ValidationReport:
    """Check a recipe and return every finding; never raises for problems in the recipe itself.

    ``layers`` (see :data:`LAYERS`) selects what is checked beyond the schema; ``deep`` adds the checks
    that load the tokenizer and the first data rows.
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
    _check_keys_and_types(raw, chosen)
    _check_cross_fields(raw, chosen)
    if "rewards" in layers:
        _check_reward_layer(raw, chosen)
    if "paths" in layers:
        _check_paths(raw)
    if "launch" in layers:
        _check_accelerators(raw)
        _check_launch(raw, chosen)
    report.values = {name: _value(raw, name) for name in R1_KEYS} | raw.values
    report.lines = raw.lines
    if deep and "paths" in layers and not any(f.severity == "error" for f in raw.findings):
        from r1cli.config.deep import deep_checks

        report.preview = deep_checks(raw, report.values)
    report.findings = sorted(raw.findings, key=lambda f: (f.severity != "error", f.line or 0))
    return report
