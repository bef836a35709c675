"""Benchmark: r1's generation against this machine's roofline (issue 18).

Three measurements in one run:

* the machine: fp32 matmul throughput (``torch.matmul``, square GEMMs at a few sizes
  and the decode shape ``batch x hidden @ hidden x intermediate``; best of several) and memory
  bandwidth (a large tensor copy: bytes read + bytes written per second), with torch's
  threads as r1 leaves them (r1 sets no thread count: torch's default);
* the work: the FLOPs and bytes a generation needs, from the model's config (layers, hidden,
  intermediate, vocab, attention and kv heads), counted two ways:
  - **padded batch** (what ``model.generate`` computes): B prompts left-padded to the longest,
    all prefilled, then one decode step per new token for every row until the longest stops;
  - **least work** (what the completions need): the token prefix all prompts share prefilled
    once, each prompt's own tokens without padding, each row decoded only until its own EOS.
  Linear layers 2 x params FLOPs per token, attention 4 x (heads x head_dim) x context per token
  and layer, the LM head once per new token; every weight read once per phase, the KV cache read
  at every decode step;
* the generation itself, both ways side by side on the same prompts: ``generate()`` (the path
  ``r1 eval`` and real-time eval use) with ``loop="transformers"`` (``model.generate``) and with
  ``loop="r1"`` (r1's decoding loop), greedy, ``--batch`` GSM8K prompts in one batch,
  ``--new-tokens`` new tokens, after a small warm-up; whether their tokens are identical.

Each limit is a roofline: each phase (prefill, each decode step) takes at least
max(FLOPs / peak FLOP/s, bytes / bandwidth). A generation's share of a limit is the limit's
seconds over the measured seconds (the same completions either way). The machine may be
shared: the load average is printed at the start and the end, and a busy machine lowers both
the measured peak and the generation's rate.

    .venv/bin/python bench/bench_roofline.py [--model DIR] [--batch 64] [--new-tokens 64] [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO.parent / "shared" / "data" / "gsm8k_test.jsonl"
BYTES = 4  # float32


def model_dir(explicit: str | None) -> Path:
    """A checkpoint directory: ``--model``, else r1's built-in SmolLM2-135M-Instruct (converted once, cached)."""
    if explicit:
        return Path(explicit)
    from r1cli.errors import ModelError
    from r1cli.models.loading import resolve_builtin

    try:
        return resolve_builtin("smollm2-135m-instruct")
    except ModelError as exc:
        sys.exit(f"{exc.message} ({exc.hint}), or pass --model DIR")


# -- the machine ---------------------------------------------------------------------------


def best_seconds(fn, repeats: int) -> float:
    fn()  # warm-up: allocation, kernel choice
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def gemm_gflops(m: int, k: int, n: int, repeats: int) -> float:
    import torch

    a, b = torch.randn(m, k), torch.randn(k, n)
    out = torch.empty(m, n)
    seconds = best_seconds(lambda: torch.matmul(a, b, out=out), repeats)
    return 2 * m * k * n / seconds / 1e9


def copy_gb_per_s(mib: int, repeats: int) -> float:
    import torch

    src = torch.ones(mib * 2**20 // BYTES)
    dst = torch.empty_like(src)
    seconds = best_seconds(lambda: dst.copy_(src), repeats)
    return 2 * src.numel() * BYTES / seconds / 1e9  # read + write


# -- the work --------------------------------------------------------------------------------


@dataclass
class Shape:
    layers: int
    hidden: int
    intermediate: int
    vocab: int
    heads: int
    kv_heads: int
    head_dim: int

    @classmethod
    def of(cls, config) -> Shape:
        heads = config.num_attention_heads
        return cls(config.num_hidden_layers, config.hidden_size, config.intermediate_size, config.vocab_size, heads,
                   getattr(config, "num_key_value_heads", None) or heads,
                   getattr(config, "head_dim", None) or config.hidden_size // heads)

    @property
    def layer_params(self) -> int:
        """Linear weights of one decoder layer: q, k, v, o projections and a gated MLP (gate, up, down)."""
        q, kv = self.heads * self.head_dim, self.kv_heads * self.head_dim
        return self.hidden * q + 2 * self.hidden * kv + q * self.hidden + 3 * self.hidden * self.intermediate

    @property
    def weights(self) -> int:
        """Weights every decode step reads: all layers and the LM head (the embedding rows read are negligible)."""
        return self.layers * self.layer_params + self.vocab * self.hidden

    def token_flops(self, context: int) -> float:
        """One token through the layers at ``context`` positions of attention (no LM head)."""
        return self.layers * (2 * self.layer_params + 4 * self.heads * self.head_dim * context)

    @property
    def head_flops(self) -> float:
        return 2 * self.hidden * self.vocab

    def kv_bytes(self, positions: int) -> float:
        return self.layers * 2 * self.kv_heads * self.head_dim * positions * BYTES


@dataclass
class Work:
    flops: float
    bytes: float


def generation_work(shape: Shape, batch: int, prompt: int, steps: int) -> list[Work]:
    """The padded batch: prefill of ``batch`` x ``prompt`` tokens, then ``steps`` new tokens for every row."""
    return least_work(shape, [prompt] * batch, 0, [steps] * batch)


def least_work(shape: Shape, prompts: list[int], shared: int, kept: list[int]) -> list[Work]:
    """Prefill (the ``shared`` prefix once, then each prompt's own tokens), then one entry per decode
    step, each row running until its ``kept`` tokens are out (the first came out of the prefill)."""
    flops = sum(shape.token_flops(t) for t in range(1, shared + 1))
    for length in prompts:
        flops += sum(shape.token_flops(t) for t in range(shared + 1, length + 1)) + shape.head_flops
    positions = shared + sum(length - shared for length in prompts)
    phases = [Work(flops, (shape.weights + len(prompts) * shape.vocab) * BYTES
                   + shape.kv_bytes(1) * positions + positions * shape.hidden * BYTES)]
    for j in range(1, max(kept)):
        active = [length + j for length, count in zip(prompts, kept) if count > j]
        phases.append(Work(
            sum(shape.token_flops(context) + shape.head_flops for context in active),
            shape.weights * BYTES + sum(shape.kv_bytes(context) + shape.vocab * BYTES for context in active),
        ))
    return phases


def roof_seconds(work: list[Work], peak_gflops: float, bandwidth_gbs: float) -> float:
    return sum(max(w.flops / (peak_gflops * 1e9), w.bytes / (bandwidth_gbs * 1e9)) for w in work)


def shared_prefix(token_lists: list[list[int]]) -> int:
    """Tokens every prompt starts with, leaving each at least one of its own."""
    shared = 0
    while shared < min(map(len, token_lists)) - 1 and len({t[shared] for t in token_lists}) == 1:
        shared += 1
    return shared


# -- r1's generation --------------------------------------------------------------------------


def prompts(n: int) -> list[list[dict]]:
    if not DATA.is_file():
        sys.exit(f"{DATA} not found: the bench generates for GSM8K test questions")
    with open(DATA, encoding="utf-8") as handle:
        questions = [json.loads(line)["question"] for _, line in zip(range(n), handle)]
    if len(questions) < n:
        sys.exit(f"{DATA} has {len(questions)} questions; --batch {n} needs that many")
    return [[{"role": "user", "content": q}] for q in questions]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a checkpoint directory (default: r1's built-in smollm2-135m-instruct)")
    parser.add_argument("--batch", type=int, help="prompts generated together (default 64; --quick 16)")
    parser.add_argument("--new-tokens", type=int, help="max new tokens (default 64; --quick 16)")
    parser.add_argument("--quick", action="store_true", help="smaller GEMMs, copy and generation: a smoke run")
    args = parser.parse_args()
    batch = args.batch or (16 if args.quick else 64)
    new_tokens = args.new_tokens or (16 if args.quick else 64)
    load_start = os.getloadavg()

    import torch

    from r1cli.evaluation.generation import generate, render_prompt
    from r1cli.models import load_model, load_tokenizer

    path = model_dir(args.model)
    tokenizer, model = load_tokenizer(path), load_model(path, dtype="float32")
    shape = Shape.of(model.config)

    # The machine.
    repeats = 3 if args.quick else 5
    sizes = (256, 512, 1024) if args.quick else (256, 512, 1024, 2048)
    gemms = {f"{n}x{n}x{n}": gemm_gflops(n, n, n, repeats) for n in sizes}
    decode_label = f"decode {batch}x{shape.hidden}x{shape.intermediate}"
    gemms[decode_label] = gemm_gflops(batch, shape.hidden, shape.intermediate, repeats * 4)
    peak = max(gemms.values())
    bandwidth = copy_gb_per_s(64 if args.quick else 256, repeats)

    # The generation, both ways, on the same prompts (a warm-up of each first).
    batch_prompts = prompts(batch)
    timed = {}
    for loop in ("transformers", "r1"):
        generate(model, tokenizer, batch_prompts[:2], max_new_tokens=4, batch_size=2, loop=loop)
        start = time.perf_counter()
        results = generate(model, tokenizer, batch_prompts, max_new_tokens=new_tokens, batch_size=batch, loop=loop)
        timed[loop] = (time.perf_counter() - start, [c.token_ids for samples in results for c in samples])
    load_end = os.getloadavg()
    outputs = timed["r1"][1]
    identical = sum(a == b for a, b in zip(outputs, timed["transformers"][1]))
    kept = [len(ids) for ids in outputs]
    steps = max(kept)  # decode steps a padded batch runs
    encoded = [tokenizer(render_prompt(tokenizer, p), add_special_tokens=False)["input_ids"] for p in batch_prompts]
    lengths = [len(ids) for ids in encoded]
    prompt_len, shared = max(lengths), shared_prefix(encoded)

    # The work and the limits.
    work = generation_work(shape, batch, prompt_len, steps)
    least = least_work(shape, lengths, shared, kept)
    flops, moved = sum(w.flops for w in work), sum(w.bytes for w in work)
    positions = batch * steps
    limits = {"padded batch (generate's work)": roof_seconds(work, peak, bandwidth),
              "least work (shared prefix once, unpadded, rows stop at EOS)": roof_seconds(least, peak, bandwidth)}

    print(f"machine: {os.cpu_count()} CPUs, torch {torch.__version__}, {torch.get_num_threads()} threads "
          f"(r1 sets none: torch's default); load average {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f} "
          f"at start, {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f} at end")
    print("fp32 matmul (best of several):")
    for label, gflops in gemms.items():
        print(f"  {label:28} {gflops:9.1f} GFLOP/s")
    print(f"memory bandwidth (tensor copy, read + write): {bandwidth:.1f} GB/s")
    print(f"model: {path.name}: {shape.layers} layers, hidden {shape.hidden}, intermediate {shape.intermediate}, "
          f"vocab {shape.vocab}, {shape.heads} heads / {shape.kv_heads} kv heads x {shape.head_dim}; "
          f"{shape.weights / 1e6:.1f}M weights read per decode step ({shape.weights * BYTES / 2**20:.0f} MiB fp32)")
    print(f"prompts: {batch}, {min(lengths)}-{prompt_len} tokens (mean {sum(lengths) / batch:.1f}), {shared} shared by all; "
          f"{steps} decode steps (max_new_tokens {new_tokens}), {sum(kept)} tokens kept up to EOS")
    print(f"padded-batch work: {flops / 1e12:.3f} TFLOP, {moved / 1e9:.2f} GB moved (prefill {work[0].flops / 1e12:.3f} "
          f"TFLOP); least work: {sum(w.flops for w in least) / 1e12:.3f} TFLOP (prefill {least[0].flops / 1e12:.3f})")
    print(f"compute roof {positions / (flops / (peak * 1e9)):.1f} tokens/s, memory roof "
          f"{positions / (moved / (bandwidth * 1e9)):.1f} tokens/s (padded batch, {positions} positions)")
    print(f"{'':62} {'seconds':>8} {'tokens/s':>9}")
    for label, seconds in limits.items():
        print(f"{'limit: ' + label:62} {seconds:8.2f} {positions / seconds:9.1f}")
    for loop, label in (("transformers", "generate(loop='transformers'): model.generate"),
                        ("r1", "generate(loop='r1'): r1's decoding loop")):
        seconds = timed[loop][0]
        shares = ", ".join(f"{limit / seconds:.1%} of the {name.split(' (')[0]} limit" for name, limit in limits.items())
        print(f"{label:62} {seconds:8.2f} {positions / seconds:9.1f}   {shares}")
    print(f"r1's loop: {timed['transformers'][0] / timed['r1'][0]:.2f}x the speed of model.generate; "
          f"greedy completions identical for {identical} of {batch} prompts")


if __name__ == "__main__":
    main()
