"""Batched generation: K completions per prompt, greedy or sampled, with progress.

``r1 eval`` and the GRPO trainer's real-time evaluation both call ``generate``:

    results = generate(model, tokenizer, prompts, max_new_tokens=256, num_samples=4, temperature=0.7, seed=0)
    results[i][k].text, results[i][k].num_tokens

Prompts are chat messages (``[{"role": "user", "content": ...}]``, rendered with
the tokenizer's chat template and ``add_generation_prompt=True``) or plain
strings (used as they are). Batches are left-padded, and prompts are sorted by
length first so a batch wastes little padding; results come back in input
order. Tokens come from r1's decoding loop (:mod:`r1cli.evaluation.decoding`:
shared prefixes and repeated prompts prefilled once, stopped rows dropped),
or from ``model.generate`` with ``loop="transformers"`` and wherever the loop
cannot reproduce ``generate`` (a checkpoint's generation config asking for
beams, a minimum length, ...; a model with a special cache). With ``seed`` set, sampling is reproducible, and the caller's global RNG
state is left untouched (``torch.random.fork_rng``). ``progress`` receives a
:class:`GenerationProgress` after every batch so a UI can draw items/s and
tokens/s without this module knowing about Rich.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from r1cli.config.features import GENERATION_LOOPS
from r1cli.data.prompts import render_prompt  # noqa: F401  (re-exported: the rendering rule is data.prompts')
from r1cli.evaluation.decoding import decode, supports
from r1cli.evaluation.sampling import sampling_from_config

Prompt = str | Sequence[dict]


@dataclass(frozen=True)
class Completion:
    """One generated completion: its text (special tokens removed) and token ids (up to and including EOS)."""

    text: str
    token_ids: list[int] = field(repr=False)
    finished: bool  # ended with an EOS token rather than hitting max_new_tokens

    @property
    def num_tokens(self) -> int:
        return len(self.token_ids)


@dataclass(frozen=True)
class GenerationProgress:
    items_done: int  # prompts finished (each with all its samples)
    items_total: int
    tokens_generated: int
    elapsed_s: float

    @property
    def items_per_s(self) -> float:
        return self.items_done / self.elapsed_s if self.elapsed_s > 0 else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_generated / self.elapsed_s if self.elapsed_s > 0 else 0.0


def eos_token_ids(model, tokenizer) -> set[int]:
    """Every token id that ends a completion (generation config and tokenizer)."""
    ids: set[int] = set()
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for value in (configured, tokenizer.eos_token_id):
        if isinstance(value, int):
            ids.add(value)
        elif value is not None:
            ids.update(int(v) for v in value)
    return ids


def generate(
    model,
    tokenizer,
    prompts: Sequence[Prompt],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    top_p: float = 1.0,
    num_samples: int = 1,
    batch_size: int = 16,
    seed: int | None = None,
    progress: Callable[[GenerationProgress], Any] | None = None,
    chat_template_kwargs: dict | None = None,
    loop: str = GENERATION_LOOPS[0],
) -> list[list[Completion]]:
    """Generate ``num_samples`` completions for each prompt; ``temperature=0`` is greedy.

    Returns one list per prompt, in input order, of ``num_samples`` completions.
    ``batch_size`` counts prompts per forward batch (each expanded to
    ``num_samples`` sequences). ``chat_template_kwargs`` go to the chat template
    (for example ``{"enable_thinking": False}``), as TRL's option of that name.
    ``loop``: ``"r1"`` (r1's decoding loop where it applies) or ``"transformers"`` (``model.generate``).
    Sampling is reproducible for a given ``seed`` *and* ``batch_size`` (the
    random stream is consumed batch by batch). Greedy output is the same
    batched or one prompt at a time (padding is masked; only floating-point
    near-ties could differ).
    """
    if max_new_tokens < 1 or num_samples < 1 or batch_size < 1:
        raise ValueError("max_new_tokens, num_samples and batch_size must be at least 1")
    if loop not in GENERATION_LOOPS:
        raise ValueError(f"loop must be one of {', '.join(GENERATION_LOOPS)}, got {loop!r}")
    if temperature == 0.0 and num_samples > 1:
        # Greedy decoding would return the same completion K times; say so instead of wasting compute.
        raise ValueError("num_samples > 1 needs temperature > 0 (greedy decoding gives identical samples)")
    import torch

    texts = [render_prompt(tokenizer, p, chat_template_kwargs) for p in prompts]
    encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts]
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i]))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    stop_ids = eos_token_ids(model, tokenizer)
    device = next(model.parameters()).device
    sampling = temperature > 0.0
    gen_kwargs: dict[str, Any] = {
        "max_new_tokens": max_new_tokens,
        "do_sample": sampling,
        "pad_token_id": pad_id,
        "eos_token_id": sorted(stop_ids) or None,
    }
    if sampling:
        gen_kwargs.update(temperature=temperature, top_p=top_p, top_k=0)
    else:
        # Explicit greedy values so a checkpoint's sampling defaults in generation_config do not leak in.
        gen_kwargs.update(temperature=None, top_p=None, top_k=None)
    chooser = _loop_sampling(model, gen_kwargs) if loop == "r1" else None

    results: list[list[Completion] | None] = [None] * len(prompts)
    tokens_generated = 0
    start = time.perf_counter()
    was_training = model.training
    model.eval()
    devices = [device] if device.type == "cuda" else []
    try:
        with torch.random.fork_rng(devices=devices), torch.inference_mode():
            if seed is not None:
                torch.manual_seed(seed)
            for begin in range(0, len(order), batch_size):
                chunk = order[begin : begin + batch_size]
                if chooser is not None:
                    rows = [encoded[i] for i in chunk for _ in range(num_samples)]
                    new_tokens = decode(model, rows, max_new_tokens=max_new_tokens, sampling=chooser,
                                        stop_ids=stop_ids, pad_id=pad_id)
                else:
                    input_ids, attention_mask = _left_pad([encoded[i] for i in chunk], pad_id)
                    output = model.generate(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device),
                                            num_return_sequences=num_samples, **gen_kwargs)
                    new_tokens = output[:, input_ids.shape[1] :].tolist()
                for row, index in enumerate(chunk):
                    samples = [
                        _completion(tokenizer, new_tokens[row * num_samples + k], stop_ids) for k in range(num_samples)
                    ]
                    tokens_generated += sum(c.num_tokens for c in samples)
                    results[index] = samples
                if progress is not None:
                    done = min(begin + batch_size, len(order))
                    progress(GenerationProgress(done, len(order), tokens_generated, time.perf_counter() - start))
    finally:
        model.train(was_training)
    return [r for r in results if r is not None]


def _loop_sampling(model, gen_kwargs: dict[str, Any]):
    """How r1's loop would choose tokens for these settings, or None where ``model.generate`` must run."""
    from transformers import GenerationConfig

    if not supports(model):
        return None
    return sampling_from_config(GenerationConfig(**gen_kwargs), getattr(model, "generation_config", None))


def _left_pad(sequences: list[list[int]], pad_id: int):
    import torch

    width = max(len(s) for s in sequences)
    input_ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, ids in enumerate(sequences):
        if ids:
            input_ids[row, width - len(ids) :] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids) :] = 1
    return input_ids, attention_mask


def _completion(tokenizer, token_ids: list[int], stop_ids: set[int]) -> Completion:
    # Keep everything up to and including the first EOS (as TRL does); what follows is padding.
    for position, token in enumerate(token_ids):
        if token in stop_ids:
            kept = token_ids[: position + 1]
            return Completion(tokenizer.decode(kept, skip_special_tokens=True), kept, True)
    return Completion(tokenizer.decode(token_ids, skip_special_tokens=True), list(token_ids), False)
