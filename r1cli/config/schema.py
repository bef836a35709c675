"""The recipe schema: the only place a recipe key is defined.

A recipe is one flat YAML file. Its keys are of two kinds:

* r1's own keys, declared below as fields of :class:`R1Config`. Each field's
  metadata carries its group, one-line help, allowed range or choices. The
  validator, ``r1 init``, the README's config reference and the trainer all
  read these declarations. The keys of a training feature (reject sampling,
  real-time eval) take their default, choices and range from that feature's
  settings object in :mod:`r1cli.config.features`, which the trainer uses too.
* every field of TRL's ``GRPOConfig`` / ``SFTConfig`` / ``ModelConfig``,
  passed through with TRL's names and meaning (see :mod:`r1cli.config.trl_fields`).
  :data:`TRL_CONSTRAINTS` adds ranges r1 checks for the common ones, and
  :data:`RENAMED_KEYS` lists keys older TRL/transformers versions accepted.

Where r1 declares a key that TRL also has (``output_dir``, ``report_to``, ...),
r1's declaration documents it and the value still reaches TRL.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, Literal

from r1cli.config.features import GenerationSettings, LossSettings, RealtimeEvalSettings, RejectSamplingSettings, setting_spec
from r1cli.rewards.calculator import DEFAULT_REWARDS
from r1cli.rewards.calling import DEFAULT_REWARD_TIMEOUT

GROUPS = {
    "run": "Run",
    "launch": "Launch (several processes or GPUs)",
    "model": "Model",
    "data": "Data",
    "rewards": "Rewards",
    "reject_sampling": "Reject sampling",
    "eval": "Real-time evaluation",
    "doctor": "Training doctor",
    "logging": "Logging",
}


def key(default: Any = MISSING, *, group: str, help: str, min: float | None = None, max: float | None = None,
        min_exclusive: bool = False, choices: tuple | None = None, example: Any = None, factory=None,
        whole: bool = False):
    """Declare one recipe key (a dataclass field whose metadata is its documentation).

    ``whole``: a number of 1 or more must be a whole number (e.g. ``eval_steps``, whose values below 1
    are a fraction of the run)."""
    meta = {"group": group, "help": help, "min": min, "max": max, "min_exclusive": min_exclusive,
            "choices": choices, "example": example, "whole": whole}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def feature_key(settings: type, name: str, *, group: str, help: str, example: Any = None):
    """Declare a recipe key whose default, choices and range belong to a feature's settings object
    (:mod:`r1cli.config.features`): the schema documents it, the settings object owns its values."""
    return key(group=group, help=help, example=example, **setting_spec(settings, name))


@dataclass
class R1Config:
    """r1's own recipe keys, with their defaults. TRL's keys pass through beside them."""

    # -- run ---------------------------------------------------------------
    trainer: Literal["grpo", "sft"] = key("grpo", group="run", choices=("grpo", "sft"),
        help="Which trainer the recipe is for; `r1 sft` / `r1 grpo` set it from the command.")
    output_dir: str | None = key(None, group="run",
        help="Run directory (checkpoints, metrics.jsonl, final model); default runs/<recipe file name>.")
    max_train_minutes: float | None = key(None, group="run", min=0.0, min_exclusive=True,
        help="Stop after the step that crosses this many minutes of training, then save the model as at the end of a run; None: no limit.")
    # -- launch ------------------------------------------------------------
    accelerate_config: str | None = key(None, group="launch",
        help="accelerate config: ddp, zero2, zero3, fsdp (shipped with r1) or a path to your own YAML.")
    num_processes: int | None = key(None, group="launch", min=1,
        help="Processes in total, across machines (usually one per GPU); None: one, or every visible GPU with accelerate_config.")
    num_machines: int = key(1, group="launch", min=1, help="Machines (nodes) taking part in a multi-node run.")
    machine_rank: int = key(0, group="launch", min=0,
        help="This machine's index in a multi-node run, 0 to num_machines - 1 (0 is the main machine).")
    main_process_ip: str | None = key(None, group="launch", example="10.0.0.1",
        help="Address of machine 0, which the others connect to; needed when num_machines > 1.")
    main_process_port: int | None = key(None, group="launch", min=0, max=65535,
        help="Port on machine 0 where the processes meet; None means 29500, 0 a free port (one machine only).")
    # -- model -------------------------------------------------------------
    model_name_or_path: str | None = key(None, group="model", example="HuggingFaceTB/SmolLM2-135M-Instruct",
        help="Model to train: hub id, local directory, or a .gguf file.")
    gguf_file: str | None = key(None, group="model",
        help="GGUF file name inside model_name_or_path (a directory or hub repo); dequantised on load.")
    dtype: str = key("auto", group="model", choices=("auto", "bfloat16", "float16", "float32"),
        help="Weights dtype; auto picks bfloat16 on a GPU that supports it, else float32.")
    attn_implementation: str | None = key(None, group="model",
        choices=(None, "eager", "sdpa", "flash_attention_2", "flash_attention_3", "flex_attention"),
        help="Attention kernel; None lets transformers choose (sdpa where available).")
    trust_remote_code: bool = key(False, group="model",
        help="Run Python code shipped with the model or dataset repository; off unless you trust it.")
    generation_loop: str = feature_key(GenerationSettings, "generation_loop", group="model",
        help="GRPO, real-time eval, dry-run: r1 generates with its own decoding loop (repeated prompts and shared "
             "prefixes prefilled once, finished rows dropped; same tokens as generate()); transformers: model.generate.")
    loss_layout: str = feature_key(LossSettings, "loss_layout", group="model",
        help="GRPO's loss: shared_prompts runs each prompt once for its group's completions (one packed row, a "
             "block attention mask; TRL's results up to float rounding) where the model and batch allow and it "
             "is estimated cheaper; padded: TRL's rows, one per completion.")
    # -- data --------------------------------------------------------------
    dataset_name: str | None = key(None, group="data", example="openai/gsm8k",
        help="Training data: hub id, local .jsonl/.json/.parquet/.csv file, or a directory of them.")
    dataset_config: str | None = key(None, group="data", help="Dataset configuration (subset) name on the hub.")
    dataset_train_split: str = key("train", group="data", help="Split to train on.")
    dataset_prompt_column: str | None = key(None, group="data",
        help="Column holding the problem text; None picks the first of prompt, problem, question.")
    dataset_solution_column: str | None = key(None, group="data",
        help="Column holding the gold answer for rewards; None picks solution, then answer.")
    dataset_completion_column: str | None = key(None, group="data",
        help="SFT target column; None picks completion, response, output, then the gold column.")
    system_prompt: str | None = key(None, group="data",
        help="System message put before every prompt (tell the model the <think>/<answer> format here).")
    chat_template: str | None = key(None, group="data",
        help="Jinja chat template that replaces the tokenizer's own.")
    max_train_samples: int | None = key(None, group="data", min=1,
        help="Use at most this many training rows (after shuffling with seed).")
    dataset_mixture: dict | None = key(None, group="data",
        help="Mix several datasets: {datasets: [{id, config, split, columns, weight}], seed, test_split_size}.")
    # -- rewards -----------------------------------------------------------
    reward_funcs: list[str] = key(group="rewards", factory=lambda: list(DEFAULT_REWARDS),
        help="Reward names from the registry, or custom rewards as package.module:function or file.py:function.")
    reward_weights: list[float] | None = key(None, group="rewards",
        help="One weight per reward function; None weighs each 1.0. The total is TRL's weighted sum.")
    reward_kwargs: dict[str, dict] = key(group="rewards", factory=dict, example={"length": {"target": 300}},
        help="Parameters per reward, e.g. {length: {target: 300, sigma: 150}}; see the reward reference.")
    reward_timeout: float | None = key(DEFAULT_REWARD_TIMEOUT, group="rewards", min=0.0,
        help="Seconds one reward call (one batch) may run; 0 or null: no limit. Past it, training stops "
             "(checkpoint kept) and r1 score leaves the rows unscored (t/o).")
    # -- reject sampling (defaults, choices and ranges: RejectSamplingSettings) ------------
    use_reject_sampling: bool = feature_key(RejectSamplingSettings, "use_reject_sampling", group="reject_sampling",
        help="Regenerate or replace prompt groups that carry no learning signal (zero reward spread).")
    reject_sampling_mode: str = feature_key(RejectSamplingSettings, "reject_sampling_mode", group="reject_sampling",
        help="resample: regenerate rejected groups for the same prompts; refill: replace them with fresh prompts.")
    max_resample_attempts: int = feature_key(RejectSamplingSettings, "max_resample_attempts", group="reject_sampling",
        help="Extra generation rounds per step for rejected groups.")
    reject_sampling_threshold: float | None = feature_key(RejectSamplingSettings, "reject_sampling_threshold",
        group="reject_sampling", help="Also reject a group whose best total reward is below this value.")
    reject_sampling_fallback: str = feature_key(RejectSamplingSettings, "reject_sampling_fallback", group="reject_sampling",
        help="When rounds run out: keep the best group seen for the prompt, or mask still-rejected groups out of the loss.")
    # -- real-time evaluation (defaults and ranges: RealtimeEvalSettings) -----------------
    eval_dataset_name: str | None = key(None, group="eval",
        help="Held-out data for real-time eval (same forms as dataset_name); None uses dataset_name.")
    eval_dataset_split: str | None = key(None, group="eval",
        help="Split of the eval dataset; None means test (or the training split of eval_dataset_name).")
    eval_steps: float | None = feature_key(RealtimeEvalSettings, "eval_steps", group="eval",
        help="GRPO: real-time eval (generation scored with the rewards) every N optimizer steps and after the last one; "
             "SFT: transformers' evaluation (eval loss) every N steps. Below 1: a fraction of the total steps. "
             "None: GRPO only evaluates with eval_on_start, SFT once per epoch.")
    eval_on_start: bool = feature_key(RealtimeEvalSettings, "eval_on_start", group="eval",
        help="Also evaluate before the first step (GRPO: a real-time eval of the untrained model; SFT: transformers' eval loss).")
    max_eval_samples: int | None = feature_key(RealtimeEvalSettings, "max_eval_samples", group="eval",
        help="Prompts generated per real-time evaluation (GRPO); None: every eval prompt.")
    eval_temperature: float = feature_key(RealtimeEvalSettings, "eval_temperature", group="eval",
        help="Sampling temperature for real-time eval; 0 is greedy.")
    # -- training doctor (r1cli/doctor: the rules; r1cli/training/doctor_callback.py: live) ----------
    doctor: bool = key(True, group="doctor",
        help="GRPO: watch the logged metrics and say what is going wrong and what to try (dashboard notes, "
             "metrics.jsonl); `r1 doctor RUN_DIR` does the same after the fact.")
    keep_best: bool = key(False, group="doctor",
        help="GRPO: keep the checkpoint with the best keep_best_metric in <run>/best/ (saved when the value is "
             "logged, safe from save_total_limit).")
    keep_best_metric: str = key("eval/accuracy", group="doctor",
        help="Metric keep_best follows (higher is better, lower for loss, kl, length); eval/accuracy needs real-time eval.")
    final_model: str = key("last", group="doctor", choices=("last", "best"),
        help="The model saved at the end of the run: the last step's, or best/'s (turns keep_best on).")
    stop_on_collapse: bool = key(False, group="doctor",
        help="GRPO: stop the run when the doctor sees held-out accuracy collapse or a NaN/inf loss (with keep_best, "
             "the best checkpoint stays in <run>/best/).")
    # -- logging -----------------------------------------------------------
    wandb_project: str | None = key(None, group="logging", help="W&B project (used when report_to includes wandb).")
    wandb_entity: str | None = key(None, group="logging", help="W&B team or user.")
    log_completion_details: bool = key(False, group="logging",
        help="Log each sampled completion with its per-reward scores to training.log.")
    save_completions: bool = key(False, group="logging",
        help="Write sampled completions with per-reward scores to completions.jsonl in the run directory.")
    debug_mode: bool = key(False, group="logging", help="Verbose logging from r1, transformers and TRL into training.log.")


R1_KEYS: dict[str, Any] = {f.name: f for f in fields(R1Config)}


def default_of(name: str) -> Any:
    f = R1_KEYS[name]
    return f.default_factory() if f.default is MISSING else f.default  # type: ignore[misc]


# Ranges r1 checks on TRL's own keys: name -> (min, max, min_exclusive).
TRL_CONSTRAINTS: dict[str, tuple[float | None, float | None, bool]] = {
    "learning_rate": (0.0, None, True),
    "num_generations": (2, None, False),
    "generation_batch_size": (1, None, False),
    "steps_per_generation": (1, None, False),
    "per_device_train_batch_size": (1, None, False),
    "per_device_eval_batch_size": (1, None, False),
    "gradient_accumulation_steps": (1, None, False),
    "max_completion_length": (1, None, False),
    "max_length": (1, None, False),
    "num_train_epochs": (0.0, None, True),
    "temperature": (0.0, None, True),
    "top_p": (0.0, 1.0, True),
    "min_p": (0.0, 1.0, False),
    "top_k": (0, None, False),
    "repetition_penalty": (0.0, None, True),
    "adam_beta1": (0.0, 1.0, False),
    "adam_beta2": (0.0, 1.0, False),
    "adam_epsilon": (0.0, None, False),
    "beta": (0.0, None, False),
    "epsilon": (0.0, None, True),
    "num_iterations": (1, None, False),
    "weight_decay": (0.0, None, False),
    "max_grad_norm": (0.0, None, False),
    "warmup_steps": (0.0, None, False),
    "logging_steps": (0.0, None, True),
    "save_steps": (0.0, None, True),
    "save_total_limit": (1, None, False),
    "lora_r": (1, None, False),
    "lora_alpha": (1, None, False),
    "lora_dropout": (0.0, 1.0, False),
    "seed": (0, None, False),
}

# Keys older TRL / transformers versions (and recipes written for them) use:
# old name -> (new name or None, explanation shown with the warning).
RENAMED_KEYS: dict[str, tuple[str | None, str]] = {
    "torch_dtype": ("dtype", "renamed to `dtype` in transformers 5 / TRL 1"),
    "warmup_ratio": ("warmup_steps", "transformers 5 takes a ratio in [0, 1) as `warmup_steps`"),
    "evaluation_strategy": ("eval_strategy", "renamed to `eval_strategy` in transformers"),
    "max_prompt_length": (None, "removed in TRL 1: GRPO no longer truncates prompts; drop long prompts from the data instead"),
    "overwrite_output_dir": (None, "removed in transformers 5: pass `--overwrite` to `r1 grpo` / `r1 sft` instead"),
    "use_mps_device": (None, "removed in transformers: the device is chosen automatically"),
    "vllm_device": (None, "removed in TRL: vLLM's devices follow vllm_mode (colocate or server)"),
}

# open-r1 spells reward parameters as flat keys; r1 keeps them in reward_kwargs.
# flat key -> (reward name, parameter name)
OPENR1_REWARD_KEYS: dict[str, tuple[str, str]] = {
    "cosine_min_value_wrong": ("cosine", "min_value_wrong"),
    "cosine_max_value_wrong": ("cosine", "max_value_wrong"),
    "cosine_min_value_correct": ("cosine", "min_value_correct"),
    "cosine_max_value_correct": ("cosine", "max_value_correct"),
    "cosine_max_len": ("cosine", "max_len"),
    "repetition_n_grams": ("repetition_penalty", "ngram_size"),
    "repetition_max_penalty": ("repetition_penalty", "max_penalty"),
    "max_completion_len": ("soft_overlong_punishment", "max_completion_len"),
    "soft_punish_cache": ("soft_overlong_punishment", "soft_punish_cache"),
}

# Keys that open-r1's recipes (its GRPOConfig / SFTConfig / GRPOScriptArguments) define and r1 does not use:
# recognised, so a recipe written for open-r1 validates with a warning saying what r1 does instead.
# key -> what r1 does instead (shown after "not used by r1: ").
FOREIGN_KEYS: dict[str, str] = {
    "callbacks": "open-r1's callback names; r1 attaches its own (metrics, dashboard, completions)",
    "benchmarks": "open-r1's post-training benchmarks; evaluate with `r1 eval` after the run",
    "push_to_hub_revision": "open-r1 pushes each checkpoint to a revision; r1 uses TRL's push_to_hub and hub_strategy",
    "hub_model_revision": "open-r1's revision for push_to_hub_revision; r1 uses TRL's push_to_hub and hub_strategy",
    "overwrite_hub_revision": "open-r1's revision overwrite; r1 uses TRL's push_to_hub and hub_strategy",
    "wandb_log_unique_prompts": "TRL's log_completions and r1's save_completions log completions",
    "wandb_run_group": "set WANDB_RUN_GROUP in the environment instead",
    "code_language": "r1 has no code-execution rewards",
    "code_eval_test_batch_size": "r1 has no code-execution rewards",
    "code_eval_scoring_mode": "r1 has no code-execution rewards",
    "code_eval_scripts": "r1 has no code-execution rewards",
    "parallel_code_exec_per_proc": "r1 has no code-execution rewards",
    "code_provider": "r1 has no code-execution rewards",
    "ioi_provider": "r1 has no code-execution rewards",
    "e2b_router_url": "r1 has no code-execution rewards",
    "morph_router_url": "r1 has no code-execution rewards",
    "enforce_same_language": "r1 has no language-consistency reward",
}
