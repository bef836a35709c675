"""`r1 dry-run`: everything a run would do except the optimisation.

    report = dry_run(recipe, generate=0, rewards=calculator_for(recipe.values))

Loads the tokenizer and the data through the same builders as training,
renders the first prompts through the chat template, measures prompt lengths
against the completion budget, counts parameters on the ``meta`` device (no
weights are read), estimates memory and the number of steps, and scores the
dataset's own gold answers with the run's accuracy reward (the calculator's
reward that verifies answers, with its parameters) to catch golds that cannot
be parsed; without such a reward the gold check is skipped and a note says so.
``generate=N`` also loads the model, samples N completions and scores them with
the same calculator. Findings that would make a run fail are ``errors``; the
command exits non-zero when there are any.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field
from typing import Any

from r1cli.config import Recipe
from r1cli.models.dimensions import dimensions
from r1cli.rewards.calculator import NO_VERIFIER
from r1cli.training.memory import ModelShape, estimate_memory, plan_steps

STATS_ROWS = 256  # prompts measured and golds scored; enough for lengths and parse failures
NO_VERIFIER_NOTE = f"{NO_VERIFIER}: gold check skipped"


@dataclass
class DryRunReport:
    recipe: str
    trainer: str
    output_dir: str
    rows: int
    prompts: list[str] = field(default_factory=list)
    prompt_tokens: dict[str, float] = field(default_factory=dict)
    budget: dict[str, Any] = field(default_factory=dict)
    model: dict[str, Any] = field(default_factory=dict)
    memory: dict[str, int] = field(default_factory=dict)
    steps: dict[str, Any] = field(default_factory=dict)
    gold: dict[str, Any] | None = None
    samples: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # neither wrong nor risky: what was not checked, and why

    @property
    def ok(self) -> bool:
        return not self.errors


def model_shape(recipe: Recipe, built=None) -> ModelShape:
    """Parameter counts from the config alone: the model is built on the meta device (``built``: that (config, model))."""
    import torch

    from r1cli.training.build import meta_model

    config, model = built or meta_model(recipe)
    total = sum(p.numel() for p in model.parameters())
    trainable = total
    if recipe.values.get("use_peft"):
        targets = recipe.get("lora_target_modules")
        r = recipe.get("lora_r") or 16
        trainable = 0
        for name, module in model.named_modules():
            if not isinstance(module, torch.nn.Linear) or name.endswith("lm_head"):
                continue
            if targets in (None, "all-linear") or any(name.endswith(t) for t in (targets or [])):
                trainable += r * (module.in_features + module.out_features)
    d = dimensions(config)
    return ModelShape(parameters=total, trainable=trainable, layers=d.layers, kv_heads=d.kv_heads, head_dim=d.head_dim)


def _token_stats(lengths: list[int]) -> dict[str, float]:
    ordered = sorted(lengths)
    p95 = ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)]
    return {"count": len(ordered), "min": ordered[0], "mean": round(statistics.fmean(ordered), 1),
            "p95": p95, "max": ordered[-1]}


def _rows(rows) -> list[dict]:
    """A dataset slice as row dicts (what TRL hands rewards as columns)."""
    return [dict(rows[i]) for i in range(len(rows))]


def _score_golds(rewards, rows) -> dict[str, Any] | None:
    """Each gold scored as a completion against itself by the accuracy reward: anything but 1.0 is a gold it cannot use.

    None when no reward of ``rewards`` verifies answers.
    """
    from r1cli.rewards.calling import call_arguments, columns_of

    name = rewards.accuracy_name
    if name is None:
        return None
    reward = rewards.funcs[rewards.names.index(name)]  # bound with the recipe's parameters for it
    table = _rows(rows)
    golds = [str(row.get("solution")) for row in table]
    columns = {**columns_of(table), "solution": golds}
    scores = [None if s is None or s != s else float(s) for s in reward(golds, **call_arguments(golds, columns=columns))]
    failing = [g for g, s in zip(golds, scores) if s != 1.0]
    return {"reward": name, "rows": len(golds), "verified": len(golds) - len(failing),
            "not_equal": sum(1 for s in scores if s == 0.0), "unparseable": sum(1 for s in scores if s is None),
            "examples": failing[:3]}


def _generate(recipe: Recipe, rewards, tokenizer, rows, count: int) -> list[dict[str, Any]]:
    from r1cli.evaluation.generation import generate
    from r1cli.rewards.calling import call_arguments, columns_of
    from r1cli.training.build import build_model

    model = build_model(recipe)
    model.eval()
    prompts = [rows[i]["prompt"] for i in range(min(count, len(rows)))]
    temperature = float(recipe.values.get("temperature", 1.0) or 0.0)
    outputs = generate(model, tokenizer, prompts, max_new_tokens=int(recipe.get("max_completion_length") or 256),
                       loop=recipe.r1.generation_loop,
                       temperature=temperature, top_p=float(recipe.values.get("top_p", 1.0) or 1.0),
                       seed=recipe.values.get("seed") or 0)
    completions = [out[0] for out in outputs]
    texts = [c.text for c in completions]
    columns = columns_of(_rows(rows.select(range(len(prompts)))))
    scores = rewards.score(texts, **call_arguments(texts, prompts=prompts, completion_ids=[c.token_ids for c in completions],
                                                   columns=columns))
    return [{"prompt": p[-1]["content"] if isinstance(p, list) else str(p), "completion": c.text, "tokens": c.num_tokens,
             "rewards": {name: scores.per_reward[name][i] for name in rewards.names}, "total": scores.total[i]}
            for i, (p, c) in enumerate(zip(prompts, completions))]


def dry_run(recipe: Recipe, *, generate: int = 0, show_prompts: int = 2, rewards=None) -> DryRunReport:
    """Everything but training; ``rewards`` is the command's calculator (GRPO; built from the recipe when not given)."""
    from r1cli.evaluation.generation import render_prompt
    from r1cli.training.build import meta_model, output_dir_of, prepare_parts

    grpo = recipe.trainer == "grpo"
    # The very checks `r1 grpo` / `r1 sft` run before step 1: raises PreStepError with file:line findings.
    parts = prepare_parts(recipe, rewards=rewards)
    tokenizer, train, rewards = parts.tokenizer, parts.train_dataset, parts.rewards
    report = DryRunReport(recipe=str(recipe.path), trainer=recipe.trainer, output_dir=str(output_dir_of(recipe)), rows=len(train))
    report.warnings = [f.format() for f in recipe.report.warnings]
    sample = train.select(range(min(STATS_ROWS, len(train))))
    prompts = sample["prompt"]
    rendered = [render_prompt(tokenizer, p) for p in prompts]
    report.prompts = rendered[:show_prompts]
    lengths = [len(tokenizer(text, add_special_tokens=False)["input_ids"]) for text in rendered]
    report.prompt_tokens = _token_stats(lengths)
    if rendered and rendered[0].rstrip().endswith("<think>"):
        report.warnings.append("the chat template opens <think> itself: format and tag_count rewards cannot reach full score")
    if grpo:
        budget = int(recipe.get("max_completion_length") or 256)
        report.budget = {"max_completion_length": budget, "sequence_max": report.prompt_tokens["max"] + budget}
    else:
        max_length = recipe.values.get("max_length", 1024)
        completion_lengths = [len(tokenizer(c[-1]["content"], add_special_tokens=False)["input_ids"]) for c in sample["completion"]] \
            if "completion" in sample.column_names else [0] * len(lengths)
        over = sum(1 for p, c in zip(lengths, completion_lengths) if max_length and p + c > max_length)
        report.budget = {"max_length": max_length, "completion_tokens_max": max(completion_lengths, default=0),
                         "truncated_share": round(over / max(1, len(lengths)), 3)}
        if over:
            report.warnings.append(f"{over} of {len(lengths)} examples exceed max_length={max_length} and will be truncated")
    built = meta_model(recipe)
    shape = model_shape(recipe, built)
    context = getattr(built[0], "max_position_embeddings", None)
    longest = report.prompt_tokens["max"] + (report.budget.get("max_completion_length") or 0)
    if grpo and isinstance(context, int) and longest > context:
        key = "max_completion_length"
        line = recipe.report.lines.get(key)
        where = f"{recipe.path} (--set)" if line == 0 else f"{recipe.path}:{line}" if line else str(recipe.path)
        report.warnings.append(f"{where}: {key}: the longest prompt ({report.prompt_tokens['max']} tokens) plus "
                               f"{report.budget['max_completion_length']} completion tokens is {longest}, beyond the "
                               f"model's context of {context} tokens (fix: lower max_completion_length)")
    from r1cli.hardware import gpu_count

    gpus = gpu_count()
    processes = recipe.r1.num_processes or max(1, gpus)
    # On a CPU machine r1 trains in float32 whatever the recipe says (see training_args).
    args_dtype = "float32" if not gpus else ("bfloat16" if recipe.values.get("bf16") else
                                             "float16" if recipe.values.get("fp16") else "float32")
    per_device = int(recipe.values.get("per_device_train_batch_size", 8))
    generations = int(recipe.values.get("num_generations", 8)) if grpo else None
    memory = estimate_memory(shape, dtype=args_dtype, beta=float(recipe.values.get("beta", 0.0) or 0.0), grpo=grpo,
                             generation_batch=per_device, sequence_length=int(report.prompt_tokens["max"] + (report.budget.get("max_completion_length") or 0)))
    report.model = {"parameters": shape.parameters, "trainable": shape.trainable, "dtype": args_dtype, "layers": shape.layers}
    report.memory = memory.as_dict()
    plan = plan_steps(rows=len(train), per_device_batch=per_device, grad_accum=int(recipe.values.get("gradient_accumulation_steps", 1)),
                      processes=processes, num_generations=generations, max_steps=int(recipe.values.get("max_steps", -1)),
                      epochs=float(recipe.values.get("num_train_epochs", 3.0)))
    report.steps = vars(plan) | {"processes": processes}
    if grpo:
        if rewards is None:
            from r1cli.rewards.selection import calculator_for

            rewards = calculator_for(recipe.values)
        report.gold = _score_golds(rewards, sample)
        _judge_golds(report)
        if generate:
            report.samples = _generate(recipe, rewards, tokenizer, sample, generate)
    return report


def _judge_golds(report: DryRunReport) -> None:
    gold = report.gold
    if gold is None:
        report.notes.append(NO_VERIFIER_NOTE)
        return
    name, failing = gold["reward"], gold["rows"] - gold["verified"]
    if failing == gold["rows"]:
        report.errors.append(f"no gold answer verifies against itself with the {name} reward, so it would never "
                             "reward anything (check dataset_solution_column)")
    elif failing:
        report.warnings.append(f"{failing} of {gold['rows']} gold answers do not verify against themselves; "
                               f"those samples can never earn the {name} reward")
