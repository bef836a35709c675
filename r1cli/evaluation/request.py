"""What an ``r1 eval`` run asks for, resolved once from its flags and an optional recipe: :class:`EvalRequest`.

    request = build_request(recipe_values, models=["runs/final"], dataset=None, temperature=None, ...)
    request.models, request.dataset, request.max_new_tokens   # flag, else recipe, else default

Explicit flags win; the recipe fills the gaps (model, eval data, split, columns,
system prompt, chat template, eval temperature, ``max_completion_length``);
then the defaults. Without ``--config``, a MODEL that is an r1 run directory lends
its saved recipe (``config.yaml``) the same way, so ``r1 eval runs/x`` evaluates
on the run's own eval data, columns and system prompt. Settings generation cannot honour are refused here as
:class:`UsageError`, before any data or weights load. Which rewards are used
is not decided here but by :func:`r1cli.rewards.selection.calculator_for`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from r1cli.errors import ModelError, UsageError
from r1cli.evaluation.datasets import DEFAULT_SPLIT, check_limit, load_eval_set

BACKENDS = ("transformers", "vllm")
DEFAULT_MAX_NEW_TOKENS = 512

def check_generation(*, num_samples: int, temperature: float, top_p: float, max_new_tokens: int, batch_size: int,
                     backend: str = "transformers") -> None:
    """Refuse settings generation cannot honour, as UsageErrors (before any model is loaded)."""
    if backend not in BACKENDS:
        raise UsageError(f"unknown backend {backend!r}", hint=f"use one of: {', '.join(BACKENDS)}")
    for flag, value in (("--num-samples", num_samples), ("--max-new-tokens", max_new_tokens), ("--batch-size", batch_size)):
        if value < 1:
            raise UsageError(f"{flag} must be at least 1, got {value}")
    if temperature < 0:
        raise UsageError(f"--temperature must be 0 (greedy) or more, got {temperature}")
    if not 0 < top_p <= 1:
        raise UsageError(f"--top-p must be in (0, 1], got {top_p}")
    if temperature == 0 and num_samples > 1:
        raise UsageError(f"--num-samples {num_samples} needs --temperature above 0: greedy decoding would give "
                         f"{num_samples} identical samples", hint="e.g. --temperature 0.7, or --num-samples 1")


def check_model_source(model: str, gguf_file: str | None = None) -> None:
    """Fail fast, before any data or other model is loaded: a missing path, or a GGUF without `gguf`."""
    from r1cli.hardware import package_available
    from r1cli.models import resolve_source

    _, gguf = resolve_source(model, gguf_file)
    if gguf is not None and not package_available("gguf"):
        raise ModelError("loading a GGUF file needs the `gguf` package, which is not installed", hint="pip install gguf")


@dataclass(frozen=True)
class EvalRequest:
    """One ``r1 eval`` run, every setting resolved: a completions file, or models on a dataset."""

    completions: Path | None = None
    models: tuple[str, ...] = ()
    baseline: Path | None = None
    dataset: str | None = None
    split: str = DEFAULT_SPLIT
    split_given: bool = False  # chosen (--split, the recipe): a local file lacking it is an error; else its own rows
    dataset_config: str | None = None
    limit: int | None = None
    benchmark: str = "auto"
    prompt_column: str | None = None
    solution_column: str | None = None
    completion_column: str = "completion"
    system_prompt: str | None = None
    skip_invalid: bool = False
    num_samples: int = 1
    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    batch_size: int = 16
    seed: int = 0
    backend: str = "transformers"
    chat_template: str | None = None
    gguf_file: str | None = None
    dtype: str = "auto"
    trust_remote_code: bool = False

    @property
    def decoding(self) -> dict[str, Any]:
        """The settings a saved baseline must share (see :mod:`r1cli.evaluation.baseline`)."""
        return {"num_samples": self.num_samples, "temperature": self.temperature, "top_p": self.top_p,
                "max_new_tokens": self.max_new_tokens}

    def generation(self) -> dict[str, Any]:
        """Keyword arguments of :func:`r1cli.evaluation.model_eval.evaluate_model` (besides model, data, rewards)."""
        return dict(num_samples=self.num_samples, temperature=self.temperature, top_p=self.top_p,
                    max_new_tokens=self.max_new_tokens, batch_size=self.batch_size, seed=self.seed,
                    chat_template=self.chat_template, gguf_file=self.gguf_file, dtype=self.dtype,
                    trust_remote_code=self.trust_remote_code, backend=self.backend)

    def check_sources(self) -> None:
        """Every model exists (and can be loaded), and the backend is available: checked before anything loads."""
        for model in self.models:
            check_model_source(model, self.gguf_file)
        if self.backend == "vllm":
            from r1cli.evaluation.vllm_backend import check_available

            check_available()

    def load_data(self):
        """The :class:`~r1cli.evaluation.datasets.EvalSet` this request evaluates on."""
        split = self.split if self.split_given else None
        return load_eval_set(self.dataset, split=split, dataset_config=self.dataset_config, limit=self.limit,
                             benchmark=self.benchmark, prompt_column=self.prompt_column,
                             solution_column=self.solution_column, system_prompt=self.system_prompt)


def run_recipe(models: Sequence[str] | None) -> dict[str, Any] | None:
    """The saved recipe (config.yaml) of the first MODEL that is an r1 run directory, or None."""
    import yaml

    from r1cli.run_dir import RunDirectory

    for model in models or ():
        run = RunDirectory(model)
        if run.config.is_file():
            try:
                values = yaml.safe_load(run.config.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, yaml.YAMLError):
                continue
            if isinstance(values, dict):
                return values
    return None


def build_request(
    recipe: Mapping[str, Any] | None = None,
    *,
    models: Sequence[str] | None = None,
    completions: Path | None = None,
    baseline: Path | None = None,
    dataset: str | None = None,
    split: str | None = None,
    limit: int | None = None,
    benchmark: str = "auto",
    prompt_column: str | None = None,
    solution_column: str | None = None,
    completion_column: str = "completion",
    system_prompt: str | None = None,
    skip_invalid: bool = False,
    num_samples: int = 1,
    temperature: float | None = None,
    top_p: float = 1.0,
    max_new_tokens: int | None = None,
    batch_size: int = 16,
    seed: int = 0,
    backend: str = "transformers",
) -> EvalRequest:
    """Resolve the flags against ``recipe`` (a recipe's values, or None); UsageError for what cannot run."""
    values = recipe if recipe is not None else (run_recipe(models) if completions is None else None) or {}
    solution_column = solution_column or values.get("dataset_solution_column")
    if skip_invalid and completions is None:
        raise UsageError("--skip-invalid applies to --completions files only")
    if completions is not None:
        if models or dataset:
            raise UsageError("--completions scores existing completions: give no MODEL or --dataset")
        if limit is not None:
            raise UsageError("--limit selects dataset items; it does not apply to --completions")
        return EvalRequest(completions=Path(completions), solution_column=solution_column,
                           completion_column=completion_column, skip_invalid=skip_invalid, seed=seed)

    models = list(models or [])
    gguf_file = None
    if not models and values.get("model_name_or_path"):
        models, gguf_file = [values["model_name_or_path"]], values.get("gguf_file")
    if not models:
        raise UsageError("no model given", hint="r1 eval MODEL --dataset DATA (or --config RECIPE with model_name_or_path)")
    if len(models) > 2:
        raise UsageError(f"{len(models)} models given; r1 eval compares at most two", hint="r1 eval BEFORE AFTER --dataset DATA")
    if baseline is not None and len(models) != 1:
        raise UsageError("--baseline compares one model against a saved evaluation; give one MODEL",
                         hint="r1 eval AFTER --baseline BEFORE_RESULTS.jsonl")
    from_recipe = not dataset
    dataset = dataset or values.get("eval_dataset_name") or values.get("dataset_name")
    if not dataset:
        raise UsageError("no dataset given", hint="pass --dataset (a hub id, a file or a directory), or --config RECIPE")
    temperature = temperature if temperature is not None else float(values.get("eval_temperature") or 0.0)
    max_new_tokens = max_new_tokens or values.get("max_completion_length") or DEFAULT_MAX_NEW_TOKENS
    check_generation(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                     batch_size=batch_size, backend=backend)
    check_limit(limit)
    return EvalRequest(
        models=tuple(models), baseline=Path(baseline) if baseline is not None else None, dataset=str(dataset),
        split=split or (from_recipe and _recipe_split(values)) or DEFAULT_SPLIT,
        split_given=bool(split or (from_recipe and _recipe_split(values))),
        dataset_config=values.get("dataset_config") if from_recipe else None, limit=limit, benchmark=benchmark,
        prompt_column=prompt_column or values.get("dataset_prompt_column"), solution_column=solution_column,
        completion_column=completion_column,
        system_prompt=system_prompt if system_prompt is not None else values.get("system_prompt"),
        num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
        batch_size=batch_size, seed=seed, backend=backend, chat_template=values.get("chat_template"),
        gguf_file=gguf_file, dtype=values.get("dtype") or "auto", trust_remote_code=bool(values.get("trust_remote_code")),
    )


def _recipe_split(values: dict[str, Any]) -> str | None:
    """The recipe's eval split; its training data (no eval_dataset_name) only through its held-out split, never whole."""
    return values.get("eval_dataset_split") or (None if values.get("eval_dataset_name") else DEFAULT_SPLIT)
