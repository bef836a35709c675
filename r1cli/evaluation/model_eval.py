"""Evaluating a model: generate K completions per item, score them, compute the metrics (``r1 eval MODEL``).

::

    calc = calculator_for(None).with_verifier()
    report = evaluate_model("runs/gsm8k/final", load_eval_set("gsm8k_test.jsonl", limit=50), calc,
                            num_samples=4, temperature=0.7, seed=0)

The completions are scored by :func:`r1cli.scoring.batch.score_batch`, as
``r1 score`` and training score them, each answer parsed once. torch and
transformers load inside the function.
"""

from __future__ import annotations

import time
from typing import Callable, Sequence

from r1cli.evaluation.datasets import EvalSet
from r1cli.evaluation.request import DEFAULT_MAX_NEW_TOKENS, check_generation, check_model_source
from r1cli.evaluation.results import EvalReport, Item, Sample, finish_item, finite, summarise
from r1cli.rewards.calculator import RewardCalculator


def evaluate_model(
    model: str,
    data: EvalSet,
    calc: RewardCalculator,
    *,
    num_samples: int = 1,
    temperature: float = 0.0,
    top_p: float = 1.0,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    batch_size: int = 16,
    seed: int = 0,
    chat_template: str | None = None,
    gguf_file: str | None = None,
    dtype: str = "auto",
    trust_remote_code: bool = False,
    backend: str = "transformers",
    progress: Callable | None = None,
) -> EvalReport:
    """Generate ``num_samples`` completions per item with ``model``, score them with ``calc``, and compute the metrics.

    ``calc`` must have a reward that verifies answers (``r1 eval`` passes ``calc.with_verifier()``).
    Deterministic for a fixed ``seed`` and ``batch_size`` (see
    :func:`r1cli.evaluation.generation.generate`). On a machine without a GPU,
    ``dtype="auto"`` means float32: bfloat16 matrix products are slow on most CPUs.
    """
    from r1cli.hardware import has_gpu
    from r1cli.scoring.batch import score_batch

    check_generation(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                     batch_size=batch_size, backend=backend)
    calc = calc.with_verifier()
    check_model_source(model, gguf_file)
    started = time.perf_counter()
    gpu = has_gpu()
    dtype = "float32" if dtype == "auto" and not gpu else dtype
    settings = dict(num_samples=num_samples, temperature=temperature, top_p=top_p, max_new_tokens=max_new_tokens,
                    batch_size=batch_size, seed=seed, backend=backend, dtype=dtype, rewards=list(calc.names),
                    weights=list(calc.weights))
    gen_kwargs = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, num_samples=num_samples,
                      seed=seed, progress=progress)

    from r1cli.models import load_tokenizer

    tokenizer = load_tokenizer(model, chat_template=chat_template, gguf_file=gguf_file, trust_remote_code=trust_remote_code)
    if backend == "vllm":
        from r1cli.evaluation import vllm_backend

        gen_started = time.perf_counter()
        results = vllm_backend.generate(model, tokenizer, data.prompts, gguf_file=gguf_file, dtype=dtype,
                                        trust_remote_code=trust_remote_code, **gen_kwargs)
    else:
        from r1cli.evaluation.generation import generate
        from r1cli.models import load_model

        lm = load_model(model, dtype=dtype, gguf_file=gguf_file, trust_remote_code=trust_remote_code,
                        device="cuda" if gpu else None)
        gen_started = time.perf_counter()
        results = generate(lm, tokenizer, data.prompts, batch_size=batch_size, **gen_kwargs)
        del lm
    gen_seconds = time.perf_counter() - gen_started

    k = num_samples
    flat = [c for samples in results for c in samples]
    columns = {name: _repeat(values, k) for name, values in data.extra.items()}
    columns["solution"] = _repeat(data.golds, k)
    batch = score_batch(calc, [c.text for c in flat], prompts=_repeat(data.prompts, k),
                        completion_ids=[c.token_ids for c in flat], columns=columns, answers=True)
    scores = batch.scores
    items = []
    for i, samples in enumerate(results):
        rows = range(i * k, (i + 1) * k)
        item = Item(i, data.prompts[i], data.golds[i], None, [
            Sample(c.text, batch.answer_texts[r], c.num_tokens, scores.row(r), finite(scores.total[r]), c.finished)
            for c, r in zip(samples, rows)
        ])
        finish_item(item, [batch.answers[r] for r in rows], batch.timeout)
        items.append(item)
    return EvalReport(
        label=str(model), dataset=data.name, split=data.split, benchmark=data.columns.benchmark,
        columns={"prompt": data.columns.prompt, "solution": data.columns.solution}, settings=settings,
        metrics=summarise(items, calc), items=items, accuracy_reward=calc.accuracy_name,
        seconds=time.perf_counter() - started, generation_seconds=gen_seconds,
        tokens_generated=sum(c.num_tokens for c in flat),
    )


def _repeat(values: Sequence, k: int) -> list:
    return [v for v in values for _ in range(k)]
