"""Everything a run needs, built from a validated recipe: the one place recipes meet TRL.

``r1 sft``, ``r1 grpo``, ``r1 dry-run`` and real-time evaluation all come
through here, so a recipe means the same thing to each of them:

    calc = calculator_for(recipe.values)           # the command builds the rewards once (GRPO)
    parts = build_parts(recipe, rewards=calc)      # tokenizer, model, datasets, TRL args; the rewards as given
    trainer = build_trainer(parts)                 # EnhancedGRPOTrainer or SFTTrainer
    trainer.train()

Building is separate from running (torchtune's setup/train split). :func:`prepare_parts`
builds everything that comes before the model's weights -- TRL's config object (its
``__post_init__`` checks), the tokenizer with its chat template rendered on real rows,
the datasets and their columns, the reward calculator, LoRA's target modules against
the model built on the ``meta`` device -- and refuses what this machine cannot run.
Any exception raised there is mapped to the recipe key that caused it and reported
as ``file:line: key: message (fix: ...)`` in one :class:`PreStepError`. ``r1 dry-run``
and ``run_training`` (hence ``r1 grpo`` / ``r1 sft``) both call it, so a recipe that
dry-run accepts gets past these checks in the run too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import re
from contextlib import contextmanager

from r1cli.config import Finding, Recipe
from r1cli.config.features import GenerationSettings, LossSettings, RealtimeEvalSettings, RejectSamplingSettings
from r1cli.errors import ConfigError, R1Error, first_line
from r1cli.hardware import has_gpu

# Recipe keys r1 hands to EnhancedGRPOTrainer itself (RealtimeEvalSettings) rather than to GRPOConfig:
# TRL's eval loop would otherwise try to run its own evaluation on these settings.
REALTIME_EVAL_KEYS = ("eval_steps", "eval_on_start")


@dataclass
class RunParts:
    recipe: Recipe
    output_dir: Path
    args: Any  # GRPOConfig or SFTConfig
    tokenizer: Any = None
    model: Any = None
    train_dataset: Any = None
    eval_dataset: Any = None
    rewards: Any = None  # RewardCalculator (GRPO only), the command's one calculator
    reject_sampling: RejectSamplingSettings | None = None  # GRPO only
    realtime_eval: RealtimeEvalSettings | None = None  # GRPO only
    peft_config: Any = None
    extra: dict = field(default_factory=dict)


def output_dir_of(recipe: Recipe) -> Path:
    """``output_dir`` from the recipe, else ``runs/<recipe file name>`` (:class:`r1cli.run_dir.RunDirectory` decides)."""
    from r1cli.run_dir import RunDirectory

    return RunDirectory.of(recipe).path


def training_args(recipe: Recipe, output_dir: Path | None = None):
    """The TRL config (GRPOConfig or SFTConfig) for this recipe, adapted to this machine.

    On a machine without a GPU, ``use_cpu`` is set and mixed precision is turned off, so a
    recipe written for a GPU still runs (slowly) here. TRL's own progress bars are off:
    r1's dashboard owns the terminal.
    """
    from trl import GRPOConfig, SFTConfig

    trainer = recipe.trainer
    kwargs = recipe.trl_kwargs(trainer)
    kwargs["output_dir"] = str(output_dir or output_dir_of(recipe))
    kwargs.setdefault("run_name", recipe.values.get("run_name") or Path(kwargs["output_dir"]).name)
    kwargs["disable_tqdm"] = True
    _move_secrets_to_environment(kwargs)
    if not has_gpu():
        kwargs.update(use_cpu=True, bf16=False, fp16=False)
    if trainer == "grpo":
        for name in REALTIME_EVAL_KEYS:
            kwargs.pop(name, None)
        if recipe.r1.reward_weights is not None:
            kwargs["reward_weights"] = list(recipe.r1.reward_weights)
        return GRPOConfig(**kwargs)
    if recipe.r1.eval_dataset_name or recipe.r1.eval_dataset_split:
        kwargs.setdefault("eval_strategy", "steps" if recipe.values.get("eval_steps") else "epoch")
    return SFTConfig(**kwargs)


def _move_secrets_to_environment(kwargs: dict) -> None:
    """Keep secrets out of the TRL config: transformers pickles it into training_args.bin in every checkpoint.

    The hub token is handed to huggingface_hub through HF_TOKEN, where it reads it for push_to_hub.
    """
    import os

    from r1cli.config.secrets import is_secret

    for name in [k for k in kwargs if is_secret(k)]:  # by name: a 40-hex revision is not a token
        value = kwargs.pop(name)
        if name == "hub_token" and value:
            os.environ["HF_TOKEN"] = str(value)


def _dtype(recipe: Recipe):
    if recipe.r1.dtype != "auto":
        return recipe.r1.dtype
    if has_gpu():
        import torch

        return "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return "float32"


def build_tokenizer(recipe: Recipe):
    from r1cli.models.loading import load_tokenizer

    return load_tokenizer(recipe.r1.model_name_or_path, chat_template=recipe.r1.chat_template,
                          trust_remote_code=recipe.r1.trust_remote_code, gguf_file=recipe.r1.gguf_file)


def build_model(recipe: Recipe):
    from transformers.utils import logging as hf_logging

    from r1cli.models.loading import load_model

    hf_logging.disable_progress_bar()  # the dashboard owns the terminal

    return load_model(recipe.r1.model_name_or_path, dtype=_dtype(recipe), attn_implementation=recipe.r1.attn_implementation,
                      trust_remote_code=recipe.r1.trust_remote_code, gguf_file=recipe.r1.gguf_file,
                      quantization=quantization(recipe))


def quantization(recipe: Recipe):
    """QLoRA's 4-bit (or 8-bit) weights from ``load_in_4bit`` / ``load_in_8bit``; None for full precision."""
    bits = 4 if recipe.values.get("load_in_4bit") else 8 if recipe.values.get("load_in_8bit") else None
    if bits is None:
        return None
    from r1cli.models.loading import quantization_config

    return quantization_config(bits, quant_type=recipe.get("bnb_4bit_quant_type") or "nf4",
                               nested=bool(recipe.values.get("use_bnb_nested_quant")), compute_dtype=_dtype(recipe))


def peft_config(recipe: Recipe):
    """The LoRA adapters TRL wraps the model with (``use_peft``); None trains every weight."""
    if not recipe.values.get("use_peft"):
        return None
    from r1cli.models.loading import lora_config_from

    return lora_config_from(r=recipe.get("lora_r"), alpha=recipe.get("lora_alpha"), dropout=recipe.get("lora_dropout"),
                            target_modules=recipe.get("lora_target_modules") or "all-linear",
                            modules_to_save=recipe.values.get("lora_modules_to_save"))


def _raw_split(recipe: Recipe, name: str | None, split: str, size: int | None = None, *, split_given: bool = True):
    from r1cli.data.sources import load_mixture, load_source

    seed = recipe.values.get("seed") or 0
    if name is None and recipe.r1.dataset_mixture:
        return load_mixture(recipe.r1.dataset_mixture, split=split, seed=seed)
    # split_given False: eval_dataset_name without eval_dataset_split, a local file is its own rows
    return load_source(name or recipe.r1.dataset_name, config=recipe.r1.dataset_config, split=split, size=size, seed=seed,
                       split_given=split_given or name is None)


def _prepare(recipe: Recipe, dataset):
    from r1cli.data.prompts import prepare_grpo, prepare_sft

    if recipe.trainer == "sft":
        return prepare_sft(dataset, prompt_column=recipe.r1.dataset_prompt_column,
                           completion_column=recipe.r1.dataset_completion_column, system_prompt=recipe.r1.system_prompt)
    return prepare_grpo(dataset, prompt_column=recipe.r1.dataset_prompt_column,
                        solution_column=recipe.r1.dataset_solution_column, system_prompt=recipe.r1.system_prompt)


def build_data(recipe: Recipe, *, limit: int | None = None):
    """(train, eval) datasets, prompts built; eval is None without eval settings. ``limit`` caps train rows."""
    from r1cli.errors import DataError

    size = limit or recipe.r1.max_train_samples
    train = _raw_split(recipe, None, recipe.r1.dataset_train_split, size=size)
    if size is not None and len(train) > size:
        train = train.shuffle(seed=recipe.values.get("seed") or 0).select(range(size))
    if len(train) == 0:
        raise DataError(f"the training split {recipe.r1.dataset_train_split!r} is empty", hint="check dataset_name and dataset_train_split")
    train = _prepare(recipe, train)
    eval_ds = None
    if recipe.r1.eval_dataset_name or recipe.r1.eval_dataset_split:
        eval_size = recipe.r1.max_eval_samples if recipe.trainer == "grpo" else None
        eval_ds = _raw_split(recipe, recipe.r1.eval_dataset_name, recipe.r1.eval_dataset_split or "test", size=eval_size,
                             split_given=recipe.r1.eval_dataset_split is not None)
        eval_ds = _prepare(recipe, eval_ds)
    return train, eval_ds


def feature_settings(recipe: Recipe) -> tuple[RejectSamplingSettings, RealtimeEvalSettings]:
    """The GRPO features' settings from the recipe (validated: a bad value is a :class:`ConfigError` before loading)."""
    return RejectSamplingSettings.from_values(recipe.values), RealtimeEvalSettings.from_values(recipe.values)


class PreStepError(ConfigError):
    """What would stop a run before its first step, each problem as ``file:line: key: message (fix: ...)``."""

    def __init__(self, recipe: Recipe, findings: list[Finding]):
        lines = "\n  ".join(f.format() for f in findings)
        plural = "s" if len(findings) > 1 else ""
        super().__init__(f"{len(findings)} problem{plural} before the first step in {recipe.path}:\n  {lines}",
                         hint="fix the recipe (or run it where it can run); `r1 dry-run` repeats these checks")
        self.findings = findings


def _key_named(recipe: Recipe, text: str, default: str | None) -> str | None:
    """The recipe key an exception's message names (the longest written one), else ``default``."""
    named = [k for k in recipe.values if re.search(rf"(?<![\w.]){re.escape(k)}(?![\w])", text)]
    written = [k for k in named if k in recipe.report.lines]
    pool = written or named
    return max(pool, key=len) if pool else default


class _Problems:
    """Findings gathered while building, each at the line of the key that caused it."""

    def __init__(self, recipe: Recipe):
        self.recipe, self.findings = recipe, []

    def add(self, key: str | None, message: str, hint: str | None) -> None:
        line = self.recipe.report.lines.get(key) if key else None
        message = message.removeprefix(f"{key}: ") if key else message  # the finding names the key itself
        self.findings.append(Finding("error", str(self.recipe.path), line, key, message, hint))

    @contextmanager
    def blame(self, default: str | None, hint: str):
        """Run a build stage; whatever it raises becomes a finding at the key its message names, else ``default``."""
        from r1cli.models.loading import DamagedModelError

        try:
            yield
        except DamagedModelError:
            raise  # damaged weights files: not the recipe's fault, the error says how to repair them
        except R1Error as exc:
            self.add(_key_named(self.recipe, exc.message, default), exc.message, exc.hint or hint)
        except Exception as exc:  # TRL, transformers, peft, datasets, jinja: each raises its own types
            text = first_line(exc, limit=400)
            self.add(_key_named(self.recipe, text, default), f"{type(exc).__name__}: {text}", hint)


def meta_model(recipe: Recipe):
    """(config, model) with the model built on the ``meta`` device: its modules and shapes, no weights read."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from r1cli.errors import ModelError
    from r1cli.models.loading import resolve_source

    source, gguf_file = resolve_source(recipe.r1.model_name_or_path, recipe.r1.gguf_file)
    kwargs = {"trust_remote_code": recipe.r1.trust_remote_code, **({"gguf_file": gguf_file} if gguf_file else {})}
    try:
        config = AutoConfig.from_pretrained(source, **kwargs)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot read the config of {source}: {first_line(exc)}",
                         hint="check model_name_or_path") from exc
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config, trust_remote_code=recipe.r1.trust_remote_code)
    return config, model


def _check_lora_targets(recipe: Recipe, model, problems: _Problems) -> None:
    """LoRA's target_modules name modules the model has (peft raises only when the run wraps the model)."""
    targets = recipe.get("lora_target_modules")
    if not recipe.values.get("use_peft") or targets in (None, "all-linear"):
        return
    names = [name for name, _ in model.named_modules()]
    wanted = [targets] if isinstance(targets, str) else list(targets)
    missing = [t for t in wanted if not any(n == t or n.endswith(f".{t}") for n in names)]
    if missing:
        leaves = sorted({n.rpartition(".")[2] for n, m in model.named_modules() if type(m).__name__ == "Linear"})
        problems.add("lora_target_modules", f"the model has no module named {', '.join(map(repr, missing))}",
                     f"use some of {', '.join(leaves)}, or all-linear")


def _render_first_prompts(tokenizer, train, problems: _Problems, recipe: Recipe) -> None:
    from r1cli.data.prompts import render_prompt

    key = "chat_template" if recipe.r1.chat_template else "model_name_or_path"
    if not getattr(tokenizer, "chat_template", None):
        problems.add(key, "the tokenizer has no chat template, so chat prompts cannot be rendered",
                     "set chat_template (a Jinja template, a .jinja file, or chatml)")
        return
    with problems.blame(key, "fix chat_template, or remove it to use the tokenizer's own"):
        for prompt in train.select(range(min(4, len(train))))["prompt"]:
            render_prompt(tokenizer, prompt)


def prepare_parts(recipe: Recipe, output_dir: Path | None = None, *, rewards=None, model_check: bool = True) -> RunParts:
    """Everything a run builds before the model's weights, checked; raises :class:`PreStepError` listing every problem.

    ``rewards`` is the command's :class:`RewardCalculator` (GRPO), built here when not given.
    """
    from r1cli.training.distributed import main_process_first

    problems = _Problems(recipe)
    for finding in recipe.report.machine:  # `r1 validate` warned; a run refuses
        problems.findings.append(Finding("error", finding.file, finding.line, finding.key,
                                         f"this machine cannot run it: {finding.message}", finding.hint, kind="machine"))
    output_dir = output_dir or output_dir_of(recipe)
    parts = RunParts(recipe=recipe, output_dir=output_dir, args=None)
    with problems.blame(None, f"check the TRL settings of the recipe against {recipe.trainer.upper()}Config's help"):
        parts.args = training_args(recipe, output_dir)
    if recipe.trainer == "grpo":
        with problems.blame(None, "see the reject sampling and real-time evaluation keys in the README"):
            parts.reject_sampling, parts.realtime_eval = feature_settings(recipe)
    # The main process fills the hub and dataset caches first, so the others read instead of racing it.
    with main_process_first():
        _phase("loading tokenizer and data")  # issue 16: named on the dashboard
        with problems.blame("chat_template" if recipe.r1.chat_template else "model_name_or_path",
                            "check model_name_or_path and chat_template"):
            parts.tokenizer = build_tokenizer(recipe)
        with problems.blame("dataset_name", "check dataset_name, its split and its columns"):
            parts.train_dataset, parts.eval_dataset = build_data(recipe)
    if parts.tokenizer is not None and parts.train_dataset is not None:
        _render_first_prompts(parts.tokenizer, parts.train_dataset, problems, recipe)
    if recipe.trainer == "grpo":
        with problems.blame("reward_funcs", "check reward_funcs and reward_kwargs"):
            if rewards is None:
                from r1cli.rewards.selection import calculator_for

                rewards = calculator_for(recipe.values)
            parts.rewards = rewards
            if parts.args is not None:
                parts.args.reward_weights = list(rewards.weights)
    with problems.blame("lora_target_modules", "check the LoRA keys (lora_r, lora_alpha, lora_target_modules)"):
        parts.peft_config = peft_config(recipe)
    if model_check:
        with problems.blame("model_name_or_path", "check model_name_or_path"):
            parts.extra["model_config"], model = meta_model(recipe)
            _check_lora_targets(recipe, model, problems)
        from r1cli.models.loading import check_weights_complete, resolve_source

        # Weights cut short fail here, before the run directory exists, not minutes later at load time.
        check_weights_complete(resolve_source(recipe.r1.model_name_or_path, recipe.r1.gguf_file)[0])
    if problems.findings:
        raise PreStepError(recipe, problems.findings)
    return parts


def build_parts(recipe: Recipe, output_dir: Path | None = None, *, rewards=None, prepared: RunParts | None = None) -> RunParts:
    """Everything a run needs: :func:`prepare_parts` (unless ``prepared`` is given), then the model's weights."""
    parts = prepared or prepare_parts(recipe, output_dir, rewards=rewards)
    problems = _Problems(recipe)
    _phase("loading model")  # issue 16: named on the dashboard
    with problems.blame("model_name_or_path", "check model_name_or_path, dtype and attn_implementation"):
        parts.model = build_model(recipe)
    if problems.findings:
        raise PreStepError(recipe, problems.findings)
    return parts


def build_trainer(parts: RunParts, callbacks: list | None = None, run_flags=None):
    """The TRL trainer for ``parts``: EnhancedGRPOTrainer for GRPO, TRL's SFTTrainer for SFT.

    ``run_flags`` (:class:`r1cli.training.flags.RunFlags`) is shared with the run's callbacks (GRPO only).
    """
    recipe = parts.recipe
    common = dict(model=parts.model, args=parts.args, train_dataset=parts.train_dataset,
                  processing_class=parts.tokenizer, callbacks=callbacks, peft_config=parts.peft_config)
    if recipe.trainer == "sft":
        from trl import SFTTrainer

        return SFTTrainer(eval_dataset=parts.eval_dataset, **common)
    from r1cli.training.activations import checkpointing_unset
    from r1cli.training.grpo_trainer import EnhancedGRPOTrainer

    reject, realtime = (parts.reject_sampling, parts.realtime_eval) if parts.reject_sampling else feature_settings(recipe)
    generation = GenerationSettings.from_values(recipe.values)
    loss = LossSettings.from_values(recipe.values)
    return EnhancedGRPOTrainer(reward_funcs=list(parts.rewards.funcs), eval_dataset=parts.eval_dataset,
                               run_flags=run_flags, **reject.as_kwargs(), **realtime.as_kwargs(),
                               **generation.as_kwargs(), **loss.as_kwargs(),
                               keep_activations_that_fit=checkpointing_unset(recipe.values), **common)


def _phase(name: str) -> None:
    """Name a long phase in training.log and, through ``extra={"phase": ...}``, on the dashboard (see training.callbacks)."""
    import logging

    logging.getLogger("r1cli").info("%s", name, extra={"phase": name})
