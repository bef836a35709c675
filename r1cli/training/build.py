"""Everything a run needs, built from a validated recipe: the one place recipes meet TRL.

``r1 sft``, ``r1 grpo``, ``r1 dry-run`` and real-time evaluation all come
through here, so a recipe means the same thing to each of them:

    calc = calculator_for(recipe.values)           # the command builds the rewards once (GRPO)
    parts = build_parts(recipe, rewards=calc)      # tokenizer, model, datasets, TRL args; the rewards as given
    trainer = build_trainer(parts)                 # EnhancedGRPOTrainer or SFTTrainer
    trainer.train()

Building is separate from running (torchtune's setup/train split): ``dry-run``
calls :func:`build_data` and :func:`training_args` and never builds a trainer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from r1cli.config import Recipe
from r1cli.config.features import RealtimeEvalSettings, RejectSamplingSettings
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


def build_parts(recipe: Recipe, output_dir: Path | None = None, *, rewards=None) -> RunParts:
    """Everything a run needs; ``rewards`` is the command's :class:`RewardCalculator` (GRPO), built here when not given."""
    from r1cli.training.distributed import main_process_first

    output_dir = output_dir or output_dir_of(recipe)
    parts = RunParts(recipe=recipe, output_dir=output_dir, args=training_args(recipe, output_dir))
    if recipe.trainer == "grpo":
        parts.reject_sampling, parts.realtime_eval = feature_settings(recipe)
    # The main process fills the hub and dataset caches first, so the others read instead of racing it.
    # Not the model: under ZeRO-3 loading it is collective, and every process must load at once.
    with main_process_first():
        parts.tokenizer = build_tokenizer(recipe)
        parts.train_dataset, parts.eval_dataset = build_data(recipe)
    if recipe.trainer == "grpo":
        if rewards is None:
            from r1cli.rewards.selection import calculator_for

            rewards = calculator_for(recipe.values)
        parts.rewards = rewards
        parts.args.reward_weights = list(rewards.weights)
    parts.peft_config = peft_config(recipe)
    parts.model = build_model(recipe)
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
    from r1cli.training.grpo_trainer import EnhancedGRPOTrainer

    reject, realtime = (parts.reject_sampling, parts.realtime_eval) if parts.reject_sampling else feature_settings(recipe)
    return EnhancedGRPOTrainer(reward_funcs=list(parts.rewards.funcs), eval_dataset=parts.eval_dataset,
                               run_flags=run_flags, **reject.as_kwargs(), **realtime.as_kwargs(), **common)
